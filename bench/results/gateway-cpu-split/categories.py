#!/usr/bin/env python3
"""Shares of a proxy's CPU by kind, from a `perf record -g` of it:
    python3 categories.py perf.data
Each symbol of `perf report --no-children --sort sym` goes to the first
rule its name matches (kernel symbols all to "kernel"); the rest are
listed by name. The rules are by symbol name, so a share is approximate:
a runtime function counted as "scheduler" may run for a channel, say."""
import sys,re,subprocess,collections
out=subprocess.run(['perf','report','-i',sys.argv[1],'--no-children','--sort','sym'],capture_output=True,text=True).stdout
c=collections.Counter(); tot=0
for l in out.splitlines():
    m=re.match(r'\s*([\d.]+)%\s+\[(.)\]\s+(.*)',l)
    if not m: continue
    p=float(m.group(1)); k=m.group(2); s=m.group(3).strip()
    tot+=p
    if k=='k': c['kernel']+=p; continue
    rules=[('clock',r'vdso|^time\.|nanotime'),('syscall wrappers',r'yscall'),
      ('sched+netpoll',r'schedule|findRunnable|park|ready|casgstatus|netpoll|gosched|execute|runqget|runqput|wakep|notewake|futex|stealWork|timers|mcall|gogo|goexit|newproc|gfget|gfput|runtime\.step|pcvalue|findfunc|funcInfo|unwinder|traceback|systemstack'),
      ('maps',r'maps\.|mapaccess|mapassign|mapIter|mapdelete|aeshash|memeqbody|ifaceeq|efaceeq|strhash|typehash'),
      ('alloc+gc',r'malloc|mspan|mcache|mcentral|mheap|heapBits|sweep|scanObject|gcDrain|greyobject|markBits|findObject|tryDefer|fixalloc|scanblock|wbBuf|memclr|newobject|makeslice|growslice|gcBgMark|gcAssist|scanstack|scanframe|bulkBarrier|spanOf|pageAlloc|markroot'),
      ('mem/str prims',r'memmove|indexbyte|countbody|indexbody|stringslite|bytealg|concatstring|slicebytetostring|rawstring'),
      ('meshgate',r'meshgate'),('hpack',r'hpack'),('prometheus',r'prometheus'),
      ('stdlib+deps',r'^bufio|^net|^internal/poll|^strings|^strconv|^bytes|^context|^sync|^internal/sync|^textproto|golang.org|^io|^unicode|^sort|^slices|^fmt|^errors|^crypto|^math|^os')]
    for name,rx in rules:
        if re.search(rx,s): c[name]+=p; break
    else: c['other: '+s]+=p
for k,v in c.most_common(25): print(f"{v:6.2f}% {k}")
print('total',tot)
