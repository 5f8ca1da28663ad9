from lenetlab.cli import main

raise SystemExit(main())
