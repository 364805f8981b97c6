import sys

from classifiers.cli import main

sys.exit(main())
