"""Where files are kept: the filesystem under var/files by default, an S3-compatible store
through django-storages when DESK_S3_BUCKET is set (docs/configuration.md), and the whole
way through (upload, thumbnail, download) on such a store, moto standing in for it."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from django.test import Client
from moto import mock_aws
from PIL import Image

from desk import files
from desk.models import StoredFile

ROOT = Path(__file__).resolve().parent.parent


def storages_with(**env: str) -> dict:
    code = "import json; from django.conf import settings; print(json.dumps(settings.STORAGES))"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DESK_S3_")}
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT, env={**clean, "DJANGO_SETTINGS_MODULE": "desk.settings", **env},
        capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout)["default"]


def test_files_are_on_the_filesystem_under_var_by_default(tmp_path):
    default = storages_with(DESK_VAR_DIR=str(tmp_path))
    assert default["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert default["OPTIONS"]["location"] == str(tmp_path / "files")


def test_a_bucket_switches_to_an_s3_compatible_store(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    default = storages_with(
        DESK_S3_BUCKET="desk-files", DESK_S3_ENDPOINT_URL="https://minio.internal:9000",
        DESK_S3_ACCESS_KEY_ID="desk", DESK_S3_SECRET_ACCESS_KEY_FILE=str(secret),
        DESK_S3_PREFIX="prod",
    )
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    options = default["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["location"]) == (
        "desk-files", "https://minio.internal:9000", "prod")
    assert (options["access_key"], options["secret_key"]) == ("desk", "s3cr3t")
    assert options["default_acl"] is None and options["querystring_auth"] is True


# --- the same files in an S3 bucket (moto stands in for the store) ---------------------------


@pytest.fixture
def s3_bucket(settings):
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="desk-files")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": "desk-files", "region_name": "us-east-1",
                    "access_key": "test", "secret_key": "test", "default_acl": None,
                    "file_overwrite": False, "location": "desk",
                },
            },
        }
        yield boto3.client("s3", region_name="us-east-1")


@pytest.mark.django_db(transaction=True)
def test_uploads_thumbnails_and_downloads_work_on_s3(
    s3_bucket, bot_api, connected_bot, agent_client
):
    out = io.BytesIO()
    Image.new("RGB", (900, 600), (9, 9, 9)).save(out, "PNG")
    handle = io.BytesIO(out.getvalue())
    handle.name = "photo.png"
    r = bot_api.client.post("/api/v1/bots/support-bot/files", {"file": handle},
                            headers=bot_api.headers)
    assert r.status_code == 201, r.content
    stored = StoredFile.objects.get(public_id=r.json()["fileId"])
    keys = [o["Key"] for o in s3_bucket.list_objects_v2(Bucket="desk-files")["Contents"]]
    assert keys == [f"desk/{stored.storage_name}"]
    assert files.make_thumbnail.call(stored.pk)
    served = agent_client.get(f"/files/{stored.public_id}/photo.png")
    assert served.content == out.getvalue()
    thumbnail = agent_client.get(f"/files/{stored.public_id}/thumbnail/")
    assert thumbnail["Content-Type"] == "image/webp"
    assert Client().get(f"/files/{stored.public_id}/photo.png").status_code == 404
