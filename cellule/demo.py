"""Demo data: each domain registers a seeder that `flask demo` runs in order."""

_SEEDERS = []


def seeder(order):
    """Register a function `seed(users_by_role)` that adds demo data, run by ascending order."""

    def decorator(func):
        if func not in [f for _, f in _SEEDERS]:
            _SEEDERS.append((order, func))
            _SEEDERS.sort(key=lambda pair: pair[0])
        return func

    return decorator


def run_seeders(users_by_role):
    for _, func in _SEEDERS:
        func(users_by_role)
