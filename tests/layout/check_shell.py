#!/usr/bin/python3
"""The shell's layout, checked on the objects the compiler made (nm), not on
hope: no call cycle among the shell's files, one function commits, one file
stops the process. Usage: check_shell.py LIBBWSHELL.a

A call from file A to file B is an undefined symbol in A.o that B.o defines.
"""
import subprocess
import sys


def symbols(archive):
    out = subprocess.run(["nm", "-A", archive], check=True, capture_output=True, text=True).stdout
    defined, used = {}, {}
    for line in out.splitlines():
        # "lib.a:file.c.o:  0000000000000000 T name" or "lib.a:file.c.o:  U name"
        head, _, rest = line.rpartition(":")
        obj = head.rsplit(":", 1)[-1].replace(".c.o", ".c")
        parts = rest.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        if kind == "U":
            used.setdefault(obj, set()).add(name)
        elif kind in "TDBR":
            defined[name] = obj
    return defined, used


def graph(defined, used):
    g = {}
    for obj, names in used.items():
        g[obj] = {defined[n] for n in names if n in defined and defined[n] != obj}
    return g


def cycle(g):
    """A cycle as a list of files, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def users(used, name):
    return sorted(o for o, names in used.items() if name in names)


def main():
    defined, used = symbols(sys.argv[1])
    problems = []
    c = cycle(graph(defined, used))
    if c:
        problems.append("call cycle among the shell's files: " + " -> ".join(c))
    # The transaction is the batch's; the batch is committed by the loop only.
    for name, allowed in (("bw_store_commit", ["batch.c"]), ("bw_store_begin", ["batch.c"]),
                          ("bw_batch_commit", ["loop.c"]), ("uv_stop", ["loop.c"])):
        u = users(used, name)
        if u != allowed:
            problems.append("%s is called from %s; only %s may" % (name, ", ".join(u) or "nowhere",
                                                                   ", ".join(allowed)))
    if len(defined) < 50 or "bw_batch_commit" not in defined:
        problems.append("%s does not look like the shell's library" % sys.argv[1])
    for p in problems:
        print(p)
    if not problems:
        files = sorted(set(defined.values()))
        print("shell layout ok: %d files, no call cycle; bw_store_commit in batch.c, "
              "bw_batch_commit and uv_stop in loop.c only" % len(files))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
