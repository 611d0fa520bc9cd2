"""`ded` command line: tools that sit beside the Snakemake workflow.

    ded audit PATH [--json]        trace an output back to its data, models and code (ded.audit)
    ded cost-plan [--configfile]   GPU-hours per rule of a config under the Slurm profile (ded.costplan)
    ded preflight [--configfile]   context, memory, revisions, endpoint and OOD checks before any GPU job
                                   (ded.preflight)
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "audit": "ded.audit",
    "cost-plan": "ded.costplan",
    "preflight": "ded.preflight",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        print(__doc__.strip())
        if argv and argv[0] not in {"-h", "--help"}:
            print(f"\nded: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    module = importlib.import_module(COMMANDS[argv[0]])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
