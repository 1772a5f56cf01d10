#!/usr/bin/env python3
"""tests/fault/check_job.py: judges a job queue history of
tests/fault/job_workload (one JSON object a line: us, p, t, f, key, job,
token, existed, paused, code; "final" lines: state, job, token -- see
job_workload.c) against what docs/jobs.md promises:

1. dedup by unique key: every acknowledged enqueue of a key returns the
   same job, distinct keys get distinct jobs, at most one of a key's
   acknowledged enqueues says it made the job (existed false), and one
   invoked after another of its key was acknowledged says existed;
2. a claim token is granted once (no two processes get one token);
3. exactly once: every job an enqueue acknowledged is in the final
   listing -- done, or still pending (in flight at the end); never
   dead (the workload sets no attempt limit), never missing (lost);
   at most one complete of a job is accepted; a job with an accepted
   complete is done, and a done job was completed by a complete sent
   (accepted, or of unknown outcome) under the token it is done with;
4. a job's accepted complete carries its latest claim's token: no claim
   of the job was granted a newer one;
5. the resource, per job: once a write with token T was acknowledged
   OK, no write with an older token invoked after that is accepted; and
   every accepted write carries a token its process was granted.

Exit 0 when the history holds, 1 with the first violations printed, 2
on an unreadable history.
"""
import sys

from check_lock import load, operations, verdict


def load_job(path):
    """The events in "us" order, and the "final" lines apart."""
    events = load(path, ("us", "p", "f", "job", "token"))
    final = [e for e in events if e["f"] == "final"]
    for e in events:
        if ("state" if e["f"] == "final" else "t") not in e:
            print(f"unreadable: {e}")
            sys.exit(2)
    return [e for e in events if e["f"] != "final"], final


def check_enqueues(ops, bad):
    by_key, owner = {}, {}
    for o in ops:
        if o["f"] == "enqueue" and o["t"] == "ok":
            by_key.setdefault(o["key"], []).append(o)
    for k, acks in by_key.items():
        ids = {o["job"] for o in acks}
        if len(ids) > 1:
            bad.append(f"key k{k} made jobs {sorted(ids)}: dedup failed")
        for i in ids:
            if i in owner and owner[i] != k:
                bad.append(f"job {i} returned for keys k{owner[i]} and k{k}")
            owner[i] = k
        if sum(not o["existed"] for o in acks) > 1:
            bad.append(f"key k{k}: two enqueues said they made its job")
        first_end = min(o["end"] for o in acks)
        for o in acks:
            if o["inv"] > first_end and not o["existed"]:
                bad.append(f"key k{k}: an enqueue after one was acknowledged "
                           f"made job {o['job']} again (existed false)")
    return owner


def check(ops, final):
    bad = []
    acked = check_enqueues(ops, bad)
    claims = [o for o in ops if o["f"] == "claim" and o["t"] == "ok"]
    granted = {}
    for c in claims:
        g = granted.get(c["token"])
        if g is not None and (g["p"], g["job"]) != (c["p"], c["job"]):
            bad.append(f"claim token {c['token']} granted twice: to p{g['p']} "
                       f"(job {g['job']}) and p{c['p']} (job {c['job']})")
        granted[c["token"]] = c
    newest = {}
    for c in claims:
        newest[c["job"]] = max(newest.get(c["job"], 0), c["token"])
    state = {}
    for f in final:
        if f["job"] in state:
            bad.append(f"job {f['job']} listed twice at the end")
        state[f["job"]] = f
    completes = [o for o in ops if o["f"] == "complete"]
    accepted = {}
    for o in completes:
        if o["t"] != "ok":
            continue
        a = accepted.get(o["job"])
        if a is not None and a["token"] != o["token"]:
            bad.append(f"job {o['job']} completed twice: under tokens "
                       f"{a['token']} and {o['token']}")
        accepted[o["job"]] = o
        if newest.get(o["job"], 0) > o["token"]:
            bad.append(f"job {o['job']}: a complete under token {o['token']} "
                       f"was accepted, but token {newest[o['job']]} had "
                       "claimed it")
    for j in sorted(acked):
        f = state.get(j)
        if f is None:
            bad.append(f"job {j} lost: enqueued (acknowledged), not listed "
                       "at the end")
        elif f["state"] == "dead":
            bad.append(f"job {j} lost: dead, with no attempt limit")
    sent = {}
    for o in completes:
        if o["t"] in ("ok", "info"):
            sent.setdefault(o["job"], set()).add(o["token"])
    for j, f in state.items():
        if f["state"] == "done" and f["token"] not in sent.get(j, ()):
            bad.append(f"job {j} done under token {f['token']}, but no "
                       "complete under it was sent")
        if f["state"] == "done" and newest.get(j, 0) > f["token"]:
            bad.append(f"job {j} done under token {f['token']}, but token "
                       f"{newest[j]} had claimed it")
        if f["state"] == "done" and j in accepted and \
                accepted[j]["token"] != f["token"]:
            bad.append(f"job {j} done under token {f['token']}, but its "
                       f"accepted complete had token {accepted[j]['token']}")
    for j, a in accepted.items():
        f = state.get(j)
        if f is None or f["state"] != "done":
            bad.append(f"job {j}: its complete under token {a['token']} was "
                       f"accepted, but at the end it is "
                       f"{'missing' if f is None else f['state']}")
    # 5: the resource, per job, in real time.
    writes = [o for o in ops if o["f"] == "write"]
    for w in writes:
        g = granted.get(w["token"])
        if w["t"] == "ok" and (g is None or (g["p"], g["job"]) != (w["p"], w["job"])):
            bad.append(f"p{w['p']}'s write of job {w['job']} with token {w['token']} "
                       "was accepted, but that process was never granted it")
    best = {}
    events = [(w["end"], 0, w) for w in writes if w["t"] == "ok"] + \
             [(w["inv"], 1, w) for w in writes]
    for _, kind, w in sorted(events, key=lambda x: (x[0], -x[1])):
        b = best.get(w["job"])
        if kind == 0:
            if b is None or w["token"] > b["token"]:
                best[w["job"]] = w
        elif w["t"] == "ok" and b is not None and w["token"] < b["token"]:
            bad.append(f"the resource accepted p{w['p']}'s token {w['token']} for "
                       f"job {w['job']} after p{b['p']}'s token {b['token']} "
                       "had been accepted")
    return acked, state, accepted, bad


def main():
    if len(sys.argv) != 2:
        print("usage: check_job.py HISTORY")
        sys.exit(2)
    events, final = load_job(sys.argv[1])
    ops = operations(events)
    acked, state, accepted, bad = check(ops, final)
    paused = [o for o in ops if o["f"] == "complete" and o.get("paused")]
    writes = [o for o in ops if o["f"] == "write"]
    n_state = {s: sum(f["state"] == s for f in state.values())
               for s in ("done", "pending", "dead")}
    summary = (f"{len(acked)} jobs enqueued, "
               f"{sum(o['f'] == 'enqueue' and o['t'] == 'ok' and o['existed'] for o in ops)} "
               f"enqueues deduplicated, "
               f"{sum(o['f'] == 'claim' and o['t'] == 'ok' for o in ops)} claims, "
               f"{len(accepted)} completes accepted, "
               f"paused holders' completes {sum(o['t'] == 'ok' for o in paused)} accepted / "
               f"{sum(o['t'] != 'ok' and o['end'] is not None for o in paused)} refused, "
               f"resource writes {sum(o['t'] == 'ok' for o in writes)} accepted / "
               f"{sum(o['t'] == 'fail' for o in writes)} stale; at the end "
               f"{n_state['done']} done, {n_state['pending']} pending, "
               f"{n_state['dead']} dead")
    verdict(bad, summary)


if __name__ == "__main__":
    main()
