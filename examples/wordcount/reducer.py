# The seed documents' MapReduce reducer, ported from Python 2 to Python 3:
# print statements became calls, and the streams in /dev/in are read in
# sorted order (the original took os.listdir's order, which the file
# system chooses; sorted, the output is the same on every run).
import os
import math
inp_dir = '/dev/in'
total = 0
max_count = 0
data = []
for inp_file in sorted(os.listdir(inp_dir)):
    with open(os.path.join(inp_dir, inp_file)) as fp:
        for line in fp:
            count, filename = line.split()
            count = int(count)
            if count > max_count:
                max_count = count
            data.append((count, filename))
            total += count
fmt = '%%%sd %%s' % (int(math.log10(max_count)) + 2)
for count, filename in data:
    print(fmt % (count, filename))
print(fmt % (total, 'total'))
