"""The README's configuration table, made from `cellule.settings.SETTINGS`.

Usage:
  python docs/settings.py            # print the table
  python docs/settings.py --write    # replace the table in README.md with it
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HEAD = "| variable | default | meaning |"

sys.path.insert(0, str(ROOT))

from cellule.settings import readme_table  # noqa: E402


def split_readme(text):
    """(before, table, after) of the README's text: the table runs from its head to the
    first line that is not a table row."""
    start = text.index(HEAD)
    end = start
    for line in text[start:].splitlines(keepends=True):
        if not line.startswith("|"):
            break
        end += len(line)
    return text[:start], text[start:end], text[end:]


def write():
    before, _, after = split_readme(README.read_text())
    README.write_text(before + readme_table() + after)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        sys.stdout.write(readme_table())
