#!/usr/bin/env python3
"""tests/fault/check_watch.py: the checker of the watch workload.

Input: the history tests/fault/workload writes for `watch`, one JSON
object a line:
  {"t": "invoke"|"ok"|"info"|"fail", "f": "put", "p": 2, "k": "w/1",
   "v": "c2-7", "rev": 41}                       (rev on "ok" only)
  {"t": "begin", "rev": 12}                     watches start here
  {"t": "event", "w": 0, "type": "put", "rev": 41, "k": "w/1", "v": "c2-7"}
  {"t": "watch-end", "w": 0, "code": 9}         a watch that ended
  {"t": "end", "rev": 97}                       the last put, acknowledged

The promise checked (docs/protocol.md, watches): a watcher sees every
committed event of its prefix exactly once, in revision order, with no
gap, across reconnects and leader changes. So, for every watcher, over
[begin, end]:
  1. revisions never go down, and no (revision, key) comes twice;
  2. every event names a put some writer invoked, with that value, and at
     the revision the writer was told when it was acknowledged;
  3. one revision holds one value of one key, the same at every watcher;
  4. every acknowledged put in [begin, end] is seen;
  5. every event any watcher saw in [begin, end] is seen by all of them
     (a put of unknown outcome that did commit included);
  6. the watcher reached end, and its watch did not end on its own.
Exit 0 when all hold; 1 naming the first broken rule; 2 for a history
that does not parse.
"""
import json
import sys


def load(lines):
    invoked = {}        # (key, value) -> True
    acked = {}          # rev -> (key, value)
    events = {}         # watcher -> [(rev, key, value, type)]
    ended = {}          # watcher -> code
    begin = end = None
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            ev = json.loads(line)
            t = ev["t"]
            if t in ("invoke", "ok", "info", "fail"):
                kv = (ev["k"], ev["v"])
                if t == "invoke":
                    invoked[kv] = True
                elif t == "ok":
                    rev = ev["rev"]
                    if rev in acked and acked[rev] != kv:
                        raise ValueError("two puts acknowledged at "
                                         "revision %d" % rev)
                    acked[rev] = kv
            elif t == "event":
                events.setdefault(ev["w"], []).append(
                    (ev["rev"], ev["k"], ev["v"], ev["type"]))
            elif t == "watch-end":
                ended[ev["w"]] = ev["code"]
            elif t == "begin":
                begin = ev["rev"]
            elif t == "end":
                end = ev["rev"]
            else:
                raise ValueError("unknown type %r" % t)
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError("line %d: %s" % (n, e))
    if begin is None or end is None:
        raise ValueError("no begin or no end record")
    return invoked, acked, events, ended, begin, end


def check(invoked, acked, events, ended, begin, end):
    """None when every rule holds, else what broke."""
    if not events:
        return "no watcher saw anything"
    by_rev = {}
    for w, evs in sorted(events.items()):
        last = 0
        seen = set()
        for rev, k, v, typ in evs:
            if rev < last:
                return ("watcher %s: revision %d after %d (out of order)"
                        % (w, rev, last))
            if (rev, k) in seen:
                return "watcher %s: revision %d key %s twice" % (w, rev, k)
            seen.add((rev, k))
            last = rev
            if rev < begin:
                return ("watcher %s: revision %d before the watch's start "
                        "%d" % (w, rev, begin))
            if typ != "put" or (k, v) not in invoked:
                return ("watcher %s: revision %d: %s %s=%r that no writer "
                        "made" % (w, rev, typ, k, v))
            if rev in acked and acked[rev] != (k, v):
                return ("watcher %s: revision %d is %s=%r, but the writer "
                        "was told %s=%r" % (w, rev, k, v, acked[rev][0],
                                            acked[rev][1]))
            if by_rev.setdefault(rev, (k, v)) != (k, v):
                return ("revision %d is %s=%r at watcher %s and %s=%r "
                        "elsewhere" % (rev, k, v, w, by_rev[rev][0],
                                       by_rev[rev][1]))
    for w, evs in sorted(events.items()):
        revs = {rev for rev, _, _, _ in evs}
        for rev in sorted(acked):
            if begin <= rev <= end and rev not in revs:
                return ("watcher %s missed the acknowledged put %s=%r at "
                        "revision %d" % (w, acked[rev][0], acked[rev][1],
                                         rev))
        for rev in sorted(by_rev):
            if rev <= end and rev not in revs:
                return ("watcher %s missed revision %d (%s=%r) that "
                        "another watcher saw" % (w, rev, by_rev[rev][0],
                                                 by_rev[rev][1]))
        if max(revs) < end:
            return "watcher %s stopped at revision %d of %d" % (
                w, max(revs), end)
    for w, code in sorted(ended.items()):
        return "watcher %s: the watch ended with code %s" % (w, code)
    return None


def main(argv):
    if len(argv) != 2:
        print("usage: check_watch.py HISTORY.jsonl", file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as fh:
            hist = load(fh)
    except (OSError, ValueError) as e:
        print("check_watch: %s" % e, file=sys.stderr)
        return 2
    bad = check(*hist)
    if bad:
        print("NOT valid: " + bad)
        return 1
    invoked, acked, events, _, begin, end = hist
    print("valid: %d watchers, revisions %d..%d, %d acknowledged puts, "
          "%d events" % (len(events), begin, end, len(acked),
                         sum(len(e) for e in events.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
