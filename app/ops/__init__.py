"""Operations: the command line, migrations, readiness, logging, database roles."""
