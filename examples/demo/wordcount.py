# Count the words of /dev/input (a channel) and write the summary to
# /dev/output (another channel).  Nothing else of the host is reachable.
import collections
import sys

with open("/dev/input", encoding="utf-8") as f:
    words = f.read().split()

counts = collections.Counter(w.strip(".,;:!?\"'()").lower() for w in words)
with open("/dev/output", "w", encoding="utf-8") as out:
    out.write("%d words, %d distinct\n" % (len(words), len(counts)))
    for word, n in counts.most_common(5):
        out.write("%6d %s\n" % (n, word))

print("wordcount: read %d words from /dev/input" % len(words), file=sys.stderr)
