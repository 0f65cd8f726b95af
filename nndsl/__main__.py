"""`python -m nndsl` is the `nndsl` command."""

from nndsl.cli import main

raise SystemExit(main())
