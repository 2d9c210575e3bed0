import sys
from pathlib import Path

# the shared comparison helper (tests/compare.py) is imported by several test modules
sys.path.insert(0, str(Path(__file__).parent))
