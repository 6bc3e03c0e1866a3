"""A Flask app with a blueprint, both with static folders, served through staticmw.

flask --app app staticmw build      # hash and precompress into the instance folder
gunicorn app:app                    # every url_for('static', ...) is now a hashed URL
"""

from flask import Blueprint, Flask, render_template

from staticmw.flask import StaticMW

admin = Blueprint(
    "admin", __name__, url_prefix="/admin", static_folder="admin/static", static_url_path="/static"
)


@admin.route("/")
def admin_home():
    return render_template("page.html", title="Admin")


def create_app(**config):
    app = Flask(__name__)
    app.config.update(config)
    app.register_blueprint(admin)

    @app.route("/")
    def home():
        return render_template("page.html", title="Home")

    StaticMW(app)
    return app


app = create_app()
