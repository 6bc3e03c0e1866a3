"""staticmw's storage with WhiteNoise's codecs (gzip and brotli), for a like-for-like run."""

from staticmw.integrations.django.storage import ManifestStaticFilesStorage


class Ours(ManifestStaticFilesStorage):
    codecs = ["gzip", "br"]
