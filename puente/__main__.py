from puente.cli import main

main()
