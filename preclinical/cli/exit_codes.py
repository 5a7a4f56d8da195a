"""Exit codes of the command line: one meaning each, so CI can tell a regression from a broken setup."""

OK = 0
FAILED = 1  # a run's scenarios failed (or its pass rate is below --fail-under); elsewhere: the server refused the request
NO_VERDICT = 2  # no verdict on the agent: server unreachable, scenario errors, run canceled, failed or refused
USAGE = 64  # bad flags or arguments (EX_USAGE from sysexits.h; click's own 2 would read as an infrastructure error)
INTERRUPTED = 130  # Ctrl+C
