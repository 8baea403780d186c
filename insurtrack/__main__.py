from insurtrack.cli.app import main

main()
