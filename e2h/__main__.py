import sys

from e2h.runner import main

sys.exit(main())
