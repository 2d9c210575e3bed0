"""`python -m effectmod`: the command line, with Ctrl-C handled from the first import on."""
import sys

try:
    from .cli import main
except KeyboardInterrupt:
    print("effectmod: interrupted; no output folder was left behind", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
