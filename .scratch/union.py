import re, sys
for p in sys.argv[1:]:
    s = open(p).read()
    out = []
    pat = re.compile(r'<<<<<<< HEAD\n(.*?)=======\n(.*?)>>>>>>> main\n', re.S)
    s = pat.sub(lambda m: m.group(1) + m.group(2), s)
    open(p, 'w').write(s)
