#!/usr/bin/env python3
"""tests/fault/check_lock.py: judges a lock + fencing history of
tests/fault/lock_workload (one JSON object a line: us, p, t, f, token,
rev, code; see lock_workload.c) against what docs/locks-and-fencing.md
promises:

1. a fencing token is granted once: no two processes (sessions) get
   one token (a session's retried acquire gets its own token again);
2. tokens rise in real time: an acquisition that completed before
   another was invoked has the smaller token;
3. coord's fenced puts: a put accepted at revision R with token T was
   made while T was the lock's current grant -- T < R, no acquisition
   was granted a token between T and R, and the holder's release of T
   had not been acknowledged before the put was invoked;
4. the resource (libcoordfence): once a write with token T was
   acknowledged OK, no write with an older token invoked after that is
   accepted;
5. every put and write carries a token its process was granted.

Together 3 and 4 say: no two clients held the lock at once and both had
writes accepted. Exit 0 when the history holds, 1 with the first
violations printed, 2 on an unreadable history.
"""
import json
import sys


def load(path, fields=("us", "p", "t", "f", "token")):
    """The history's events in "us" order, each with fields (exit 2 on
    a line that is not JSON or lacks one)."""
    events = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                e = json.loads(line)
                for field in fields:
                    e[field]
            except (ValueError, KeyError) as err:
                print(f"line {n}: unreadable: {err}")
                sys.exit(2)
            events.append(e)
    events.sort(key=lambda e: e["us"])
    return events


def operations(events):
    """Pairs each invoke with its process's next completion: an op has
    the invoke's fields, then the completion's ("t", "token", ...), with
    "inv" and "end" its times; an invoke with none stays open (end None,
    type info). Shared with check_job.py."""
    open_ops = {}
    ops = []
    for e in events:
        p = e["p"]
        if e["t"] == "invoke":
            op = dict(e, inv=e["us"], end=None, t="info")
            open_ops[p] = op
            ops.append(op)
            continue
        op = open_ops.pop(p, None)
        if op is None or op["f"] != e["f"]:
            print(f"process {p}: a {e['t']} {e['f']} without its invoke")
            sys.exit(2)
        op.update({k: v for k, v in e.items() if k not in ("us", "p", "f")},
                  end=e["us"])
    return ops


def newest_before(ops, done):
    """Yields each op of ops (in invocation order) with the op of done
    of the largest token that completed before it was invoked (None if
    none did): the real-time order the checks hold tokens to."""
    by_end = sorted(done, key=lambda o: o["end"])
    best = None
    i = 0
    for o in sorted(ops, key=lambda o: o["inv"]):
        while i < len(by_end) and by_end[i]["end"] < o["inv"]:
            if best is None or by_end[i]["token"] > best["token"]:
                best = by_end[i]
            i += 1
        yield o, best


def check_grants(grants, bad):
    """1 and 2 on the acknowledged grants (ops): each token to one
    process, tokens rising in real time; violations appended to bad.
    The grants by token. Shared with check_sem.py."""
    granted = {}
    for g in grants:
        if g["token"] in granted and granted[g["token"]]["p"] != g["p"]:
            bad.append(f"token {g['token']} granted twice: to p{granted[g['token']]['p']} "
                       f"and p{g['p']}")
        granted[g["token"]] = g
    # 2: every grant that ended before this one was invoked has a
    # smaller token (checked against the largest such token).
    for g, best in newest_before(grants, grants):
        if best is not None and best["token"] >= g["token"] and \
                not (best["token"] == g["token"] and best["p"] == g["p"]):
            bad.append(f"p{g['p']} was granted token {g['token']} after p{best['p']}'s "
                       f"grant of {best['token']} had completed")
    return granted


def check(ops):
    bad = []
    grants = [o for o in ops if o["f"] == "acquire" and o["t"] == "ok"]
    granted = check_grants(grants, bad)
    tokens = sorted(granted)
    releases = {o["token"]: o for o in ops
                if o["f"] == "release" and o["t"] == "ok"}
    for o in ops:
        if o["f"] not in ("put", "write"):
            continue
        g = granted.get(o["token"])
        if o["t"] == "ok" and (g is None or g["p"] != o["p"]):
            bad.append(f"p{o['p']}'s {o['f']} with token {o['token']} was accepted, "
                       "but that process was never granted it")
        if o["f"] != "put" or o["t"] != "ok":
            continue
        t, r = o["token"], o["rev"]
        if r <= t:
            bad.append(f"p{o['p']}'s put with token {t} accepted at revision {r}, "
                       "not after its grant")
        later = [x for x in tokens if t < x < r]
        if later:
            bad.append(f"p{o['p']}'s put with token {t} accepted at revision {r}, "
                       f"after token {later[0]} was granted")
        rel = releases.get(t)
        if rel is not None and rel["end"] < o["inv"]:
            bad.append(f"p{o['p']}'s put with token {t} accepted after its release "
                       "was acknowledged")
    # 4: the resource, in real time.
    writes = [o for o in ops if o["f"] == "write"]
    acked = [o for o in writes if o["t"] == "ok"]
    for w, best in newest_before(writes, acked):
        if w["t"] == "ok" and best is not None and w["token"] < best["token"]:
            bad.append(f"the resource accepted p{w['p']}'s token {w['token']} after "
                       f"p{best['p']}'s token {best['token']} had been accepted")
    return grants, bad


def verdict(bad, summary):
    """Prints the verdict (the first violations if any) and exits: 0
    when bad is empty, else 1. Shared by the checkers of histories with
    fenced writes (check_job.py)."""
    if bad:
        print(f"NOT SAFE: {len(bad)} violations ({summary})")
        for b in bad[:20]:
            print("  " + b)
        sys.exit(1)
    print(f"safe: {summary}")
    sys.exit(0)


def main():
    if len(sys.argv) != 2:
        print("usage: check_lock.py HISTORY")
        sys.exit(2)
    ops = operations(load(sys.argv[1]))
    grants, bad = check(ops)
    puts = [o for o in ops if o["f"] == "put"]
    writes = [o for o in ops if o["f"] == "write"]
    summary = (f"{len(grants)} grants, puts {sum(o['t'] == 'ok' for o in puts)} "
               f"accepted / {sum(o['t'] == 'fail' for o in puts)} refused, "
               f"resource writes {sum(o['t'] == 'ok' for o in writes)} accepted / "
               f"{sum(o['t'] == 'fail' for o in writes)} stale")
    verdict(bad, summary)


if __name__ == "__main__":
    main()
