"""The one exception type of the package: a problem the user can fix (wrong path, foreign file,
unknown metric...). Scripts print its message and exit with code 2."""


class AnalysisError(ValueError):
    pass
