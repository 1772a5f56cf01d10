#!/usr/bin/env python3
"""tests/fault/check_register.py: a linearizability checker for the
register workload (read / write / cas on independent keys).

Input: a history, one JSON object a line, in the real-time order in which
the workload saw the events (it runs on one event loop, so that order is
total):
  {"p": 3, "t": "invoke", "f": "write", "k": "r/1", "v": "w3-17"}
  {"p": 3, "t": "ok",     "f": "write", "k": "r/1", "v": "w3-17"}
  {"p": 4, "t": "invoke", "f": "cas",   "k": "r/1", "v": ["w3-17", "w4-2"]}
  {"p": 4, "t": "fail",   "f": "cas",   "k": "r/1", "v": ["w3-17", "w4-2"]}
  {"p": 5, "t": "invoke", "f": "read",  "k": "r/1", "v": null}
  {"p": 5, "t": "ok",     "f": "read",  "k": "r/1", "v": "w3-17"}
A process has one operation open at a time. "ok": it happened, between its
invoke and this line; "fail": it certainly did not happen (a cas whose
compare did not hold, a request never sent); "info": unknown (a timeout):
it may take effect at any time after its invoke, or never. A process whose
operation ended "info" may go on with a new one (the workload numbers it as
a new process, as Jepsen does). Every key starts absent (null).

The search is Wing & Gong's, with Lowe's memoization of (linearized set,
state) (G. Lowe, "Testing for linearizability", 2017), per key: keys are
independent registers, so a history is linearizable iff each key's is.

Exit 0 with "linearizable" when every key passes; exit 1 naming the first
key that does not, with the smallest set of its operations that is still
not linearizable (minimal(): no operation of the set can be left out),
and the operations around the point where the search got stuck; exit 2
for a history that does not parse.
"""
import json
import sys
import time


class Op:
    __slots__ = ("idx", "idx_line", "ret_line", "proc", "f", "value", "kind",
                 "call", "ret")

    def __init__(self, idx, proc, f, value):
        self.idx = idx
        self.idx_line = idx     # the invoke's line in the history
        self.ret_line = idx     # its completion's line, once seen
        self.proc = proc
        self.f = f
        self.value = value
        self.kind = None        # "ok" or "info" once known
        self.call = None
        self.ret = None


class Entry:
    """A call or return event in the doubly linked history list."""
    __slots__ = ("op", "is_call", "prev", "next", "match")

    def __init__(self, op, is_call):
        self.op = op
        self.is_call = is_call
        self.prev = None
        self.next = None
        self.match = None       # a call's return entry (None for info)


def step(state, op):
    """(allowed, new state) of applying op to the register's state."""
    if op.f == "read":
        return state == op.value, state
    if op.f == "write":
        return True, op.value
    if op.f == "cas":
        old, new = op.value
        return state == old, new
    raise ValueError("unknown f %r" % op.f)


def parse(lines):
    """Per key, the list of its events: ("call"|"ok"|"info", Op)."""
    keys = {}
    open_ops = {}
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            ev = json.loads(line)
            p, t, f, k = ev["p"], ev["t"], ev["f"], ev["k"]
            v = ev.get("v")
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError("line %d: %s" % (n, e))
        if f not in ("read", "write", "cas"):
            raise ValueError("line %d: unknown f %r" % (n, f))
        if f == "cas" and (not isinstance(v, list) or len(v) != 2):
            raise ValueError("line %d: a cas names [from, to]" % n)
        evs = keys.setdefault(k, [])
        if t == "invoke":
            if p in open_ops:
                raise ValueError("line %d: process %r has an open op" % (n, p))
            op = Op(n, p, f, v)
            open_ops[p] = (k, op)
            evs.append(("call", op))
            continue
        if p not in open_ops or open_ops[p][0] != k:
            raise ValueError("line %d: %s without an invoke" % (n, t))
        op = open_ops.pop(p)[1]
        op.ret_line = n
        if op.f != f:
            raise ValueError("line %d: completes a %s with a %s" % (n, op.f, f))
        if t == "ok":
            if f == "read":
                op.value = v        # what the read saw
            evs.append(("ok", op))
        elif t == "fail":
            evs.append(("fail", op))
        elif t == "info":
            evs.append(("info", op))
        else:
            raise ValueError("line %d: unknown type %r" % (n, t))
    # Still open at the end: unknown outcome, like info.
    for k, op in open_ops.values():
        keys[k].append(("info", op))
    return keys


def build_list(events):
    """The list of calls and returns for one key: failed ops and reads of
    unknown outcome are left out (neither changes the state); an op of
    unknown outcome has a call and no return."""
    outcome = {}
    for kind, op in events:
        if kind != "call":
            outcome[op] = kind
    head = Entry(None, False)
    tail = head
    ops = []
    for kind, op in events:
        fate = outcome.get(op, "info")
        if fate == "fail" or (fate == "info" and op.f == "read"):
            continue
        if kind == "call":
            op.kind = fate
            e = Entry(op, True)
            op.call = e
            ops.append(op)
        elif kind == "ok":
            e = Entry(op, False)
            op.ret = e
            op.call.match = e
        else:
            continue
        e.prev = tail
        tail.next = e
        tail = e
    return head, ops


def lift(e):
    """Takes a call and its return (if any) out of the list."""
    e.prev.next = e.next
    if e.next:
        e.next.prev = e.prev
    r = e.match
    if r:
        r.prev.next = r.next
        if r.next:
            r.next.prev = r.prev


def unlift(e):
    r = e.match
    if r:
        r.prev.next = r
        if r.next:
            r.next.prev = r
    e.prev.next = e
    if e.next:
        e.next.prev = e


def check_key(events):
    """None if linearizable, else the ops open where the search failed."""
    head, ops = build_list(events)
    for i, op in enumerate(ops):
        op.idx = i
    pending_returns = sum(1 for op in ops if op.kind == "ok")
    state = None
    linearized = 0
    cache = set()
    stack = []
    entry = head.next
    deepest = (0, None)
    while pending_returns > 0:
        # A return is always reached before the list's end while one is
        # pending: the walk never steps past a return.
        if entry.is_call:
            op = entry.op
            allowed, new_state = step(state, op)
            if allowed:
                lin = linearized | (1 << op.idx)
                if (lin, new_state) not in cache:
                    cache.add((lin, new_state))
                    stack.append((entry, state))
                    if len(stack) > deepest[0]:
                        deepest = (len(stack), entry)
                    state = new_state
                    linearized = lin
                    if op.kind == "ok":
                        pending_returns -= 1
                    lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            # A return whose op is not linearized yet: undo the last step.
            if not stack:
                return stuck_context(ops, deepest[1])
            entry, state = stack.pop()
            op = entry.op
            linearized &= ~(1 << op.idx)
            if op.kind == "ok":
                pending_returns += 1
            unlift(entry)
            entry = entry.next
    return None


def stuck_context(ops, entry):
    if entry is None:
        return ops[:8]
    i = entry.op.idx
    return ops[max(0, i - 4):i + 4]


def events_of(events, keep):
    """events restricted to the ops in keep."""
    return [(kind, op) for kind, op in events if op in keep]


def minimal(events, budget_s=60.0):
    """A subset of a non-linearizable key history's ops that is still not
    linearizable and from which no op can be left out (False as the
    second value if budget_s seconds ran out first).

    First the shortest failing prefix of the events (an op whose return
    is cut off is of unknown outcome there; a prefix of a linearizable
    history is linearizable, so the failing prefixes are the long ones:
    a binary search). Then ops are left out while the rest still fails --
    in halves, quarters ... (ddmin), then one at a time until none can
    go -- but only reads, and writes or cases whose value no op that is
    left reads or compares against: leaving out such an op keeps a
    linearizable history linearizable, so what remains is a real anomaly
    of the history, never one made by cutting a read off its write."""
    deadline = time.monotonic() + budget_s
    lo, hi = 1, len(events)
    while lo < hi:
        mid = (lo + hi) // 2
        if check_key(events[:mid]) is not None:
            hi = mid
        else:
            lo = mid + 1
    events = events[:hi]
    keep = [op for kind, op in events if kind == "call"]
    size = max(1, len(keep) // 2)
    while True:
        changed = False
        start = 0
        while start < len(keep):
            if time.monotonic() > deadline:
                return keep, False
            chunk = keep[start:start + size]
            rest = keep[:start] + keep[start + size:]
            used = used_values(rest)
            if (all(o.f == "read" or written(o) not in used
                    for o in chunk) and
                    check_key(events_of(events, set(rest))) is not None):
                keep = rest
                changed = True
            else:
                start += size
        if size > 1:
            size //= 2
        elif not changed:
            return keep, True


def last_line(events, ops):
    """The line of the last event of the shortest failing prefix: the
    return (or the invoke, if none) of the set's latest op."""
    last = max(op.idx_line for op in ops)
    for kind, op in events:
        if op in ops and kind != "call":
            last = max(last, op.ret_line)
    return last


def written(op):
    """The value op writes, as used_values() keys it."""
    return json.dumps(op.value if op.f == "write" else op.value[1])


def used_values(ops):
    """The values ops read (ok reads) or compare against (cases)."""
    used = set()
    for o in ops:
        if o.f == "read" and o.kind == "ok":
            used.add(json.dumps(o.value))
        elif o.f == "cas":
            used.add(json.dumps(o.value[0]))
    return used


def describe(op):
    return "p%s %s %s %s" % (op.proc, op.kind, op.f, json.dumps(op.value))


def main(argv):
    if len(argv) != 2:
        print("usage: check_register.py HISTORY.jsonl", file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as fh:
            keys = parse(fh)
    except (OSError, ValueError) as e:
        print("check_register: %s" % e, file=sys.stderr)
        return 2
    n_ops = 0
    for k in sorted(keys):
        n_ops += sum(1 for kind, _ in keys[k] if kind == "call")
        bad = check_key(keys[k])
        if bad is not None:
            print("NOT linearizable: key %s" % k)
            context = [describe(op) for op in bad]
            ops, done = minimal(keys[k])
            print("smallest set: %d operation%s%s, of the history up to "
                  "line %d (ok: happened between its invoke and its "
                  "return; info: unknown outcome):"
                  % (len(ops), "" if len(ops) == 1 else "s",
                     "" if done else " (search budget spent: may not be "
                     "minimal)", last_line(keys[k], ops)))
            for op in sorted(ops, key=lambda o: o.idx_line):
                print("  line %d: %s" % (op.idx_line, describe(op)))
            print("operations near where the search got stuck:")
            for line in context:
                print("  " + line)
            return 1
    print("linearizable: %d keys, %d operations" % (len(keys), n_ops))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
