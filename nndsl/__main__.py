"""`python -m nndsl` is the `nndsl` command."""

import sys

try:
    from nndsl.cli import main
except KeyboardInterrupt:  # Ctrl-C while it loads: one line, as main() would say
    sys.stderr.write("nndsl: interrupted\n")
    raise SystemExit(130) from None

raise SystemExit(main())
