#!/usr/bin/env python3
"""tests/fault/check_session.py: judges a session history of
tests/fault/session_workload (one JSON object a line; see
session_workload.c) against the session promises of
docs/locks-and-fencing.md. A session's deadline D is the largest one its
client sampled (coord_session_deadline_ms(): the send time of its latest
acknowledged keepalive + TTL, by the client's clock); "ended at t" is the
observer's sight of the DELETE of its key, so the servers ended it before
t. All times are one machine's CLOCK_MONOTONIC.

1. the servers never end a session before its client's deadline: a
   session the client had not asked to close (no close invoked before
   t) is not seen ended at t < D;
2. a session the servers ended is never reported alive afterwards: no
   sample says "alive" or "jeopardy" after it was seen ended (by then
   the client's own clock must say lost);
3. a lock moves on only when its holder lost it: a grant of lock L
   acknowledged at g to one session, after the grant of L to another
   (the previous token), comes after that holder's release or close was
   invoked, or after its deadline D (g >= D);
4. a lock's token is granted to one session only.

With a config line (session_workload --expiry-slack-ms N, run.sh churn:
leader changes every few hundred ms and no other fault), also what
docs/consistency.md ("Leases") promises under election churn:

5. a session whose client stopped its keepalives ("pause") is seen
   ended within N ms (TTL + N after the send of its last acknowledged
   keepalive: N is 2 election timeouts) of its deadline, when that is
   before the observer's last moment;
6. a session whose client never stopped is never ended unasked.

Exit 0 when the history holds, 1 with the first violations printed, 2
on an unreadable history.
"""
import sys

from check_lock import load, verdict


def check(events):
    bad = []
    deadline, ended, closed, owner = {}, {}, {}, {}
    samples = []
    grants = {}
    releases = {}
    for e in events:
        s = e.get("session", 0)
        f = e["f"]
        if f == "state":
            deadline[s] = max(deadline.get(s, 0), e["deadline"])
            samples.append(e)
        elif f == "ended":
            ended.setdefault(s, e["us"])
        elif f == "close" and e.get("t") == "invoke":
            closed.setdefault(s, e["us"])
        elif f == "open" and e.get("t") == "ok":
            owner[s] = e["p"]
        elif f == "acquire" and e.get("t") == "ok":
            grants.setdefault(e["lock"], []).append(e)
        elif f == "release" and e.get("t") == "invoke":
            releases.setdefault((s, e["lock"], e["token"]), e["us"])
    for s, t in ended.items():
        d = deadline.get(s)
        if d is None or (s in closed and closed[s] <= t):
            continue
        if t < d:
            bad.append(f"session {s} (p{owner.get(s, '?')}) was ended by {t}, "
                       f"before its client's deadline {d} ({d - t} us early)")
    for e in samples:
        t = ended.get(e["session"])
        if t is not None and e["us"] > t and e["state"] != "lost":
            bad.append(f"session {e['session']} was reported {e['state']} at "
                       f"{e['us']}, after the servers ended it (seen at {t})")
    for lock, gs in grants.items():
        by_token = {}
        for g in gs:
            o = by_token.get(g["token"])
            if o is not None and o["session"] != g["session"]:
                bad.append(f"lock sl{lock}: token {g['token']} granted to "
                           f"sessions {o['session']} and {g['session']}")
            by_token[g["token"]] = g
        order = sorted(by_token.values(), key=lambda g: g["token"])
        for prev, g in zip(order, order[1:]):
            if prev["session"] == g["session"]:
                continue
            rel = min(releases.get((prev["session"], lock, prev["token"]),
                               float("inf")),
                      closed.get(prev["session"], float("inf")))
            d = deadline.get(prev["session"], 0)
            if rel > g["us"] and g["us"] < d:
                bad.append(f"lock sl{lock}: token {g['token']} granted to session "
                           f"{g['session']} at {g['us']}, while session "
                           f"{prev['session']} held token {prev['token']} and "
                           f"was alive by its clock until {d}")
    config = [e for e in events if e["f"] == "config"]
    if config:
        churn_checks(events, config[0], deadline, ended, closed, owner, bad)
    return deadline, ended, closed, grants, bad


def churn_checks(events, config, deadline, ended, closed, owner, bad):
    """5 and 6: expiries on time under election churn."""
    slack = config["expiry_slack_ms"] * 1000
    paused = set(e["session"] for e in events if e["f"] == "pause")
    for s in sorted(paused):
        d = deadline.get(s)
        if d is None or d + slack > config["observed_until"]:
            continue
        t = ended.get(s)
        if t is None or t > d + slack:
            seen = "never" if t is None else f"only at {t}, {(t - d) / 1e3:.1f} ms after it"
            bad.append(f"session {s} (p{owner.get(s, '?')}) stopped its keepalives: "
                       f"deadline {d}, seen ended {seen} (late expiry: more than "
                       f"{slack / 1e3:.0f} ms)")
    for s, t in sorted(ended.items()):
        if s in paused or s not in deadline or (s in closed and closed[s] <= t):
            continue
        bad.append(f"session {s} (p{owner.get(s, '?')}) was ended by the servers at {t}, "
                   "but its client never stopped its keepalives")


def main():
    if len(sys.argv) != 2:
        print("usage: check_session.py HISTORY")
        sys.exit(2)
    events = load(sys.argv[1], ("us", "p", "f"))
    deadline, ended, closed, grants, bad = check(events)
    expired = [s for s in ended if s in deadline and
               not (s in closed and closed[s] <= ended[s])]
    late = sorted(ended[s] - deadline[s] for s in expired)
    summary = (f"{len(deadline)} sessions, {len(expired)} ended by the servers "
               f"unasked, {sum(len(g) for g in grants.values())} lock grants")
    if late:
        summary += (f"; seen ended after the client's deadline by "
                    f"{late[len(late) // 2] / 1e3:.1f} ms (median), "
                    f"{late[-1] / 1e3:.1f} ms (most)")
    verdict(bad, summary)


if __name__ == "__main__":
    main()
