"""The simulator's default users: the one place their names, passwords and roles are spelled.

The default scenario takes its ``users`` from here, and so do the harness and every test suite that
logs in as a default user (``from vsp_simulator.users import ADMIN``). The passwords are public:
the simulator is not a security boundary.
"""

from __future__ import annotations

from typing import NamedTuple

SEC_VIEW = "Security Administrator (View Only)"
SEC_MODIFY = "Security Administrator (View & Modify)"
STO_VIEW = "Storage Administrator (View Only)"
STO_PROV = "Storage Administrator (Provisioning)"


class User(NamedTuple):
    """A user of the simulated array."""

    name: str
    password: str
    roles: tuple = ()

    @property
    def auth(self):
        """``(name, password)``, as ``requests`` takes basic auth."""
        return (self.name, self.password)

    def scenario_entry(self):
        """The user as a scenario's ``users`` list holds it."""
        return {"name": self.name, "password": self.password, "roles": list(self.roles)}


ADMIN = User("admin", "vsp-admin", (SEC_MODIFY, STO_PROV))
"""May do everything."""
VIEWER = User("viewer", "vsp-viewer", (SEC_VIEW, STO_VIEW))
"""May read, and create and delete its own session."""
DEFAULT_USERS = (ADMIN, VIEWER)


def scenario_users(users=DEFAULT_USERS):
    """``users`` as a scenario's ``users`` list."""
    return [u.scenario_entry() for u in users]
