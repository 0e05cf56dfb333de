"""`python -m flightdq_dev.emulator --seed`: the sandbox (see `sandbox`)."""

from flightdq_dev.emulator.sandbox import main

raise SystemExit(main())
