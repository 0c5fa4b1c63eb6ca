"""``python -m formguide.cli``: the console script."""

from formguide.cli import main

main()
