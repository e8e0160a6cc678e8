"""The term project (SPEC §5): groups, milestones and their documents, project talks, peer feedback."""
from flask import Blueprint

bp = Blueprint("project", __name__)
from blueprints.project import talks  # noqa: E402,F401
from blueprints.project import feedback  # noqa: E402,F401
from blueprints.project import groups  # noqa: E402,F401
from blueprints.project import milestones  # noqa: E402,F401
from blueprints.project import staff  # noqa: E402,F401
