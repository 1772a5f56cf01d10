#!/usr/bin/env python3
"""tests/fault/check_election.py: judges an election history of
tests/fault/election_workload (one JSON object a line; see
election_workload.c) against what coord.h and docs/recipes.md promise of
elections: one leader at a time, its token (the revision of its
election) rising strictly, observers that see every change once, in
order, across reconnects. A change is (revision, session, token, value);
session 0 is "no leader", with the token that ended.

1. at most one leader per token: no token is held by two sessions
   (campaigns acknowledged, and every change anyone saw);
2. in each observer's sequence and the read-back ("final"): revisions
   strictly rise (no duplicate); a new leader's token is above every
   token before it (never falls); a proclaim keeps its leader's token;
3. every observer saw exactly the read-back's changes (no gap, no
   duplicate, none that never happened), up to the closer's election,
   and reached it; no observation ended on its own;
4. an acknowledged campaign's leadership and an acknowledged proclaim
   are in the read-back (when its token is not past the read-back's
   end); a fenced put accepted at revision R with token T
   was made while T led: the read-back's last change at or before R is
   T's leadership;
5. the resource (libcoordfence): once a write with token T was
   acknowledged OK, no write with an older token invoked after that is
   accepted; an accepted write's token was granted to its writer.

Exit 0 when the history holds, 1 with the first violations printed, 2
on an unreadable history.
"""
import sys

from check_lock import load, newest_before, operations, verdict


def change(e):
    return (e["rev"], e["session"], e["token"], e["value"])


def check_sequence(name, seq, bad):
    """2 on one sequence of changes."""
    prev, top = None, 0
    for c in seq:
        rev, session, token, _ = c
        if prev is not None and rev <= prev[0]:
            what = "again" if c == prev or c in seq[:seq.index(c)] else "after a later one"
            bad.append(f"{name}: the change at revision {rev} (session {session}, "
                       f"token {token}) seen {what} (previous at {prev[0]})")
        elif session != 0 and prev is not None and session == prev[1]:
            if token != prev[2]:
                bad.append(f"{name}: revision {rev}: leader session {session}'s token "
                           f"went from {prev[2]} to {token}")
        elif session != 0 and token <= top:
            bad.append(f"{name}: revision {rev}: new leader session {session} with token "
                       f"{token}, not above {top} seen before (falling token)")
        top = max(top, token)
        prev = c


def check(events):
    bad = []
    seqs = {}
    final = []
    ended = []
    for e in events:
        if e["f"] == "obs":
            seqs.setdefault(e["p"], []).append(change(e))
        elif e["f"] == "final":
            final.append(change(e))
        elif e["f"] == "obs-end":
            ended.append(e)
    if not final:
        print("history: no read-back (final lines)")
        sys.exit(2)
    ops = operations([e for e in events if e["f"] in
                      ("campaign", "proclaim", "put", "write", "resign")])
    # 1: one leader per token.
    leader_of = {}
    for src, rev, session, token in (
            [("campaign", None, o["session"], o["token"]) for o in ops
             if o["f"] == "campaign" and o["t"] == "ok"] +
            [(f"observer {p}", c[0], c[1], c[2]) for p, s in seqs.items() for c in s] +
            [("the read-back", c[0], c[1], c[2]) for c in final]):
        if session == 0:
            continue
        o = leader_of.setdefault(token, (session, src, rev))
        if o[0] != session:
            bad.append(f"token {token}: two leaders, session {o[0]} ({o[1]}) and "
                       f"session {session} ({src}, revision {rev})")
    # 2: each sequence on its own.
    check_sequence("the read-back", final, bad)
    for p, s in sorted(seqs.items()):
        check_sequence(f"observer {p}", s, bad)
    # 3: every observer saw the read-back, exactly.
    end_rev = final[-1][0]
    for p, s in sorted(seqs.items()):
        mine = [c for c in s if c[0] <= end_rev]
        for i, (c, f) in enumerate(zip(mine, final)):
            if c != f:
                if c[0] > f[0]:
                    bad.append(f"observer {p} missed the change at revision {f[0]} "
                               f"(session {f[1]}, token {f[2]}): a gap")
                elif c in mine[:i]:
                    bad.append(f"observer {p} saw the change at revision {c[0]} twice")
                else:
                    bad.append(f"observer {p} saw {c} at revision {c[0]}, the "
                               f"read-back has {f}")
                break
        else:
            if len(mine) < len(final):
                bad.append(f"observer {p} stopped at revision "
                           f"{mine[-1][0] if mine else 0}, before the change at "
                           f"{final[len(mine)][0]}")
            elif len(mine) > len(final):
                bad.append(f"observer {p} saw the change at revision "
                           f"{mine[len(final)][0]} past the read-back's")
    for e in ended:
        bad.append(f"observer {e['p']}: the observation ended: {e['code']}")
    # 4: acknowledged leaderships, proclaims and fenced puts.
    in_final = set((c[1], c[2]) for c in final if c[1] != 0)
    values = set((c[1], c[2], c[3]) for c in final)
    for o in ops:
        # A campaign sent before the closer's may still be applied
        # after it (a retry on a new connection): past the read-back.
        if o["t"] != "ok" or o["token"] > end_rev:
            continue
        if o["f"] == "campaign" and (o["session"], o["token"]) not in in_final:
            bad.append(f"p{o['p']}: session {o['session']} was elected with token "
                       f"{o['token']}, not in the read-back")
        if o["f"] == "proclaim" and \
                (o["session"], o["token"], o["value"]) not in values:
            bad.append(f"p{o['p']}: the proclaim {o['value']!r} of token {o['token']} "
                       "was acknowledged, not in the read-back")
        if o["f"] == "put" and o["rev"] <= end_rev:
            led = [c for c in final if c[0] <= o["rev"]]
            if not led or led[-1][1] == 0 or led[-1][2] != o["token"]:
                bad.append(f"p{o['p']}'s put with token {o['token']} accepted at "
                           f"revision {o['rev']}, when "
                           f"{'no one' if not led or led[-1][1] == 0 else 'token %d' % led[-1][2]} led")
    # 5: the resource, in real time.
    granted = {o["token"]: o["p"] for o in ops
               if o["f"] == "campaign" and o["t"] == "ok"}
    writes = [o for o in ops if o["f"] == "write"]
    acked = [o for o in writes if o["t"] == "ok"]
    for w in acked:
        if granted.get(w["token"]) != w["p"]:
            bad.append(f"p{w['p']}'s write with token {w['token']} was accepted, but "
                       "that process was never elected with it")
    for w, best in newest_before(writes, acked):
        if w["t"] == "ok" and best is not None and w["token"] < best["token"]:
            bad.append(f"the resource accepted p{w['p']}'s token {w['token']} after "
                       f"p{best['p']}'s token {best['token']} had been accepted")
    return ops, seqs, final, bad


def main():
    if len(sys.argv) != 2:
        print("usage: check_election.py HISTORY")
        sys.exit(2)
    events = load(sys.argv[1], ("us", "p", "f"))
    ops, seqs, final, bad = check(events)
    count = {f: [sum(o["f"] == f and o["t"] == t for o in ops)
                 for t in ("ok", "fail", "info")]
             for f in ("campaign", "proclaim", "put", "write")}
    leaders = set((c[1], c[2]) for c in final if c[1] != 0)
    summary = (f"{len(leaders)} leaderships, {len(final)} changes read back, "
               f"{len(seqs)} observers; ok/fail/info: " +
               ", ".join(f"{f} {'/'.join(map(str, n))}" for f, n in count.items()))
    verdict(bad, summary)


if __name__ == "__main__":
    main()
