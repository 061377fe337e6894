# The seed documents' MapReduce mapper (ZeroVM docs, "MapReduce
# application"), ported from Python 2 to Python 3: only the print
# statement changed.  Counts the words of /dev/input (one object of
# swift://~/mapreduce-data/*.txt per mapper node) and sends
# "<count> <container>/<object>" to the reducer through /dev/out/reduce.
import os
# Word count:
with open('/dev/input') as fp:
    data = fp.read()
with open('/dev/out/reduce', 'a') as fp:
    path_info = os.environ['LOCAL_PATH_INFO']
    # Split off the swift prefix
    # Just show the container/file
    shorter = '/'.join(path_info.split('/')[2:])
    # Pipe the output to the reducer:
    print('%d %s' % (len(data.split()), shorter), file=fp)
