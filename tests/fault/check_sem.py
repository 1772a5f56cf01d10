#!/usr/bin/env python3
"""tests/fault/check_sem.py: judges a semaphore history of
tests/fault/sem_workload (one JSON object a line; see sem_workload.c)
against what docs/locks-and-fencing.md ("Semaphores") promises. The
accepted writes are the resource's own acceptance log: the key's
history read back at the end ("log" lines: revision and value
"p<P>-t<TOKEN>"), complete from the begin marker to the end marker.

1. a permit's token is granted once: no two processes (sessions) get
   one token;
2. tokens rise in real time: an acquisition that completed before
   another was invoked has the smaller token;
3. at most N holders with accepted writes: per token, the interval of
   revisions from its grant (the token) to its last accepted write; at
   no revision do more than N of them overlap;
4. every accepted write carries a token its writer was granted, after
   that grant (token < revision), and a refused put (COORD_EFENCED...)
   was not applied: a writer has no more writes in the log than puts it
   sent that were not refused;
5. the log agrees with the clients: every put acknowledged at revision
   R is in the log at R with its value.

Exit 0 when the history holds, 1 with the first violations printed, 2
on an unreadable history.
"""
import sys

from check_lock import check_grants, load, operations, verdict


def parse_log(events):
    """The config line, the log's writes {rev: (p, token)} and its end
    revision; exit 2 when the read-back is missing."""
    config = [e for e in events if e["f"] == "config"]
    ends = [e for e in events if e["f"] == "log-end"]
    if len(config) != 1 or len(ends) != 1:
        print("history: no config line or no log-end line")
        sys.exit(2)
    log = {}
    for e in events:
        if e["f"] != "log" or e["value"] in ("begin", "end"):
            continue
        try:
            p, t = e["value"].split("-")
            log[e["rev"]] = (int(p[1:]), int(t[1:]))
        except ValueError:
            print(f"log: revision {e['rev']}: unreadable value {e['value']!r}")
            sys.exit(2)
    return config[0], log, ends[0]["rev"]


def max_overlap(intervals):
    """The most intervals [a, b] that share a revision, and one such
    revision with its tokens (None when there are none)."""
    points = sorted([(a, 0, t) for t, (a, b) in intervals.items()] +
                    [(b, 1, t) for t, (a, b) in intervals.items()])
    live, best, where = set(), 0, None
    for rev, kind, t in points:
        if kind == 0:
            live.add(t)
            if len(live) > best:
                best, where = len(live), (rev, sorted(live))
        else:
            live.discard(t)
    return best, where


def check(events):
    bad = []
    config, log, end = parse_log(events)
    n = config["permits"]
    ops = operations([e for e in events if e["f"] in ("acquire", "put", "release")])
    grants = [o for o in ops if o["f"] == "acquire" and o["t"] == "ok"]
    granted = check_grants(grants, bad)
    # 5: the clients' acknowledged puts are in the log.
    for o in ops:
        if o["f"] == "put" and o["t"] == "ok" and o["rev"] < end and \
                log.get(o["rev"]) != (o["p"], o["token"]):
            bad.append(f"p{o['p']}'s put with token {o['token']} was acknowledged "
                       f"at revision {o['rev']}, but the log has "
                       f"{log.get(o['rev'], 'nothing')} there")
    # 4: every accepted write is its writer's, within its grant, and no
    # more of a writer's writes were accepted than it sent without a
    # refusal.
    sent = {}
    for o in ops:
        if o["f"] == "put" and o["t"] != "fail":
            sent[(o["p"], o["token"])] = sent.get((o["p"], o["token"]), 0) + 1
    accepted = {}
    intervals = {}
    for rev in sorted(log):
        p, t = log[rev]
        g = granted.get(t)
        if g is None or g["p"] != p:
            bad.append(f"revision {rev}: p{p}'s write with token {t} was accepted, "
                       "but that process was never granted it")
        if rev <= t:
            bad.append(f"revision {rev}: a write with token {t} accepted before "
                       "its grant")
        accepted[(p, t)] = accepted.get((p, t), 0) + 1
        if accepted[(p, t)] > sent.get((p, t), 0):
            bad.append(f"revision {rev}: p{p}'s write with token {t} accepted, "
                       f"one more than the {sent.get((p, t), 0)} it sent that "
                       "were not refused")
        a, _ = intervals.get(t, (t, rev))
        intervals[t] = (a, rev)
    # 3: at most N permits with accepted writes at any revision.
    most, where = max_overlap(intervals)
    if most > n:
        rev, tokens = where
        spans = ", ".join(f"{t}: [{intervals[t][0]}, {intervals[t][1]}]"
                          for t in tokens)
        bad.append(f"at revision {rev}, {most} permits of {n} had accepted "
                   f"writes around it (token: [grant, last accepted write]: {spans})")
    return n, grants, log, intervals, most, bad


def main():
    if len(sys.argv) != 2:
        print("usage: check_sem.py HISTORY")
        sys.exit(2)
    events = load(sys.argv[1], ("us", "p", "f"))
    n, grants, log, intervals, most, bad = check(events)
    puts = [e for e in events if e["f"] == "put" and e.get("t") != "invoke"]
    summary = (f"N={n}, {len(grants)} grants, puts "
               f"{sum(e['t'] == 'ok' for e in puts)} ok / "
               f"{sum(e['t'] == 'fail' for e in puts)} refused / "
               f"{sum(e['t'] == 'info' for e in puts)} unknown, "
               f"{len(log)} accepted writes of {len(intervals)} permits, "
               f"at most {most} overlapping")
    verdict(bad, summary)


if __name__ == "__main__":
    main()
