"""Conformance checks through boto3: a second client with another wire encoding.

aws-sdk-s3 and botocore put the same request on the wire differently (list-valued headers
as one comma-joined header, checksums, presigned URLs, how errors are read), so the checks
where that matters run here too. checks/wire.rs runs one check per process:

    python wire_checks.py CHECK_NAME BUCKET VERSIONED_BUCKET

with the target in COPYFLOW_S3_ENDPOINT, COPYFLOW_S3_ACCESS_KEY, COPYFLOW_S3_SECRET_KEY and
COPYFLOW_S3_REGION. The buckets are made (and cleaned up) by the Rust harness. Exit status
0 means the check passed; otherwise the last line on stdout says why. Expected values follow
AWS S3's documented behaviour and are computed here, never taken from the server.
"""

import base64
import hashlib
import os
import sys
import urllib.error
import urllib.request
import zlib

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class CheckFailed(Exception):
    pass


def ensure_eq(actual, expected, what):
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def client(secret=None):
    return boto3.client(
        "s3",
        endpoint_url=os.environ["COPYFLOW_S3_ENDPOINT"],
        aws_access_key_id=os.environ["COPYFLOW_S3_ACCESS_KEY"],
        aws_secret_access_key=secret or os.environ["COPYFLOW_S3_SECRET_KEY"],
        region_name=os.environ["COPYFLOW_S3_REGION"],
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )


def error_of(call, what):
    """Runs `call`, which must fail; returns (HTTP status, code, message)."""
    try:
        result = call()
    except ClientError as e:
        err = e.response.get("Error", {})
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status, err.get("Code"), err.get("Message")
    raise CheckFailed(f"{what}: expected an error, got success: {result!r}")


def expect_error(call, what, status, code, message=None):
    got = error_of(call, what)
    ensure_eq(got[:2], (status, code), f"{what}: HTTP status and code")
    if message is not None:
        ensure_eq(got[2], message, f"{what}: message")


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- checks ------------------------------------------------------------------------------


def boto3_get_object_attributes_with_several_attributes_returns_all_of_them(s3, bucket, _):
    data = b"attributes through boto3"
    s3.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm="CRC32")
    # botocore joins the list into one header: x-amz-object-attributes: ETag,Checksum,...
    out = s3.get_object_attributes(
        Bucket=bucket,
        Key="k",
        ObjectAttributes=["ETag", "Checksum", "ObjectSize", "StorageClass"],
    )
    ensure_eq(out.get("ETag"), hashlib.md5(data).hexdigest(), "ETag (unquoted)")
    ensure_eq(out.get("ObjectSize"), len(data), "ObjectSize")
    ensure_eq(out.get("StorageClass"), "STANDARD", "StorageClass")
    ensure_eq(out.get("Checksum", {}).get("ChecksumCRC32"), crc32_b64(data), "ChecksumCRC32")


def boto3_put_with_sha256_checksum_header_stores_and_returns_it(s3, bucket, _):
    data = b"checksum through boto3" * 100
    out = s3.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm="SHA256")
    ensure_eq(out.get("ChecksumSHA256"), sha256_b64(data), "PutObject ChecksumSHA256")
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    ensure_eq(head.get("ChecksumSHA256"), sha256_b64(data), "HeadObject ChecksumSHA256")
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    ensure_eq(got["Body"].read(), data, "GetObject body")


def boto3_put_with_a_wrong_checksum_header_is_400_bad_digest(s3, bucket, _):
    expect_error(
        lambda: s3.put_object(
            Bucket=bucket, Key="k", Body=b"payload", ChecksumCRC32=crc32_b64(b"other")
        ),
        "PutObject with a wrong ChecksumCRC32",
        400,
        "BadDigest",
    )


def boto3_presigned_get_url_returns_the_object(s3, bucket, _):
    data = b"presigned through boto3"
    s3.put_object(Bucket=bucket, Key="p k+1", Body=data)
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "p k+1"}, ExpiresIn=3600
    )
    with urllib.request.urlopen(url) as resp:
        ensure_eq(resp.read(), data, "GET of the presigned URL")


def boto3_presigned_url_valid_for_8_days_is_400_authorization_query_parameters_error(
    s3, bucket, _
):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=8 * 24 * 3600
    )
    try:
        with urllib.request.urlopen(url) as resp:
            raise CheckFailed(f"GET of an 8-day presigned URL: expected 400, got {resp.status}")
    except urllib.error.HTTPError as e:
        body = e.read().decode("utf-8", "replace")
        ensure_eq(e.code, 400, "HTTP status")
        if "<Code>AuthorizationQueryParametersError</Code>" not in body:
            raise CheckFailed(f"expected AuthorizationQueryParametersError, got {body}")
        wanted = "X-Amz-Expires must be less than a week (in seconds) that is; 604800"
        if wanted not in body:
            raise CheckFailed(f"expected the message {wanted!r}, got {body}")


def boto3_errors_carry_aws_messages(s3, bucket, _):
    expect_error(
        lambda: s3.get_object(Bucket=bucket, Key="missing"),
        "GetObject of a missing key",
        404,
        "NoSuchKey",
        "The specified key does not exist.",
    )
    expect_error(
        lambda: s3.list_objects_v2(Bucket=bucket + "-missing"),
        "ListObjectsV2 of a missing bucket",
        404,
        "NoSuchBucket",
        "The specified bucket does not exist",
    )
    expect_error(
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId="nope"),
        "AbortMultipartUpload of a missing upload",
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed.",
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_error(
        lambda: s3.delete_bucket(Bucket=bucket),
        "DeleteBucket of a non-empty bucket",
        409,
        "BucketNotEmpty",
        "The bucket you tried to delete is not empty",
    )


def boto3_a_wrong_secret_is_403_signature_does_not_match_with_its_message(_s3, bucket, _):
    expect_error(
        lambda: client(secret="not-the-secret").list_objects_v2(Bucket=bucket),
        "ListObjectsV2 signed with a wrong secret",
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    )


def boto3_metadata_over_2_kb_is_400_metadata_too_large(s3, bucket, _):
    expect_error(
        lambda: s3.put_object(
            Bucket=bucket, Key="k", Body=b"x", Metadata={"a": "v" * 1024, "b": "v" * 1024}
        ),
        "PutObject with 2,050 bytes of user metadata",
        400,
        "MetadataTooLarge",
        "Your metadata headers exceed the maximum allowed metadata size",
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"a": "v" * 1023, "b": "v" * 1023})


def boto3_reserved_bucket_names_are_400_invalid_bucket_name(s3, bucket, _):
    for name in [bucket + "-s3alias", bucket + "--ol-s3", "xn--" + bucket, "sthree-" + bucket]:
        name = name[:63]
        status, code, _ = error_of(lambda: s3.create_bucket(Bucket=name), f"CreateBucket {name}")
        ensure_eq((status, code), (400, "InvalidBucketName"), f"CreateBucket {name}")


def boto3_list_object_versions_pages_through_versions_and_delete_markers(s3, _, bucket):
    ids = {}
    for key in ["a", "a", "b", "d/1", "d/2"]:
        ids.setdefault(key, []).append(s3.put_object(Bucket=bucket, Key=key, Body=key.encode())["VersionId"])
    marker = s3.delete_object(Bucket=bucket, Key="b")
    ensure_eq(marker.get("DeleteMarker"), True, "DeleteObject DeleteMarker")
    # Newest first within a key; the delete marker is b's latest.
    expected = [
        ("a", ids["a"][1], True, False),
        ("a", ids["a"][0], False, False),
        ("b", marker["VersionId"], True, True),
        ("b", ids["b"][0], False, False),
        ("d/", None, None, None),
    ]
    seen, pages, kwargs = [], 0, {}
    while True:
        page = s3.list_object_versions(Bucket=bucket, Delimiter="/", MaxKeys=2, **kwargs)
        pages += 1
        entries = [(v["Key"], v["VersionId"], v["IsLatest"], False) for v in page.get("Versions", [])]
        entries += [(m["Key"], m["VersionId"], m["IsLatest"], True) for m in page.get("DeleteMarkers", [])]
        # A page holds versions and markers in key order, newest first within a key.
        order = {(k, v): i for i, (k, v, _, _) in enumerate(expected)}
        entries.sort(key=lambda e: order.get((e[0], e[1]), 99))
        seen += entries
        seen += [(p["Prefix"], None, None, None) for p in page.get("CommonPrefixes", [])]
        if not page.get("IsTruncated"):
            break
        if pages > 10:
            raise CheckFailed("more than 10 pages for 5 entries")
        kwargs = {"KeyMarker": page["NextKeyMarker"]}
        if page.get("NextVersionIdMarker"):
            kwargs["VersionIdMarker"] = page["NextVersionIdMarker"]
    ensure_eq(seen, expected, "versions, delete markers and prefixes over all pages")
    ensure_eq(pages, 3, "pages of MaxKeys=2")
    only_d = s3.list_object_versions(Bucket=bucket, Prefix="d/")
    ensure_eq(
        [(v["Key"], v["VersionId"]) for v in only_d.get("Versions", [])],
        [("d/1", ids["d/1"][0]), ("d/2", ids["d/2"][0])],
        "versions under prefix d/",
    )


CHECKS = {
    f.__name__: f
    for f in [
        boto3_get_object_attributes_with_several_attributes_returns_all_of_them,
        boto3_put_with_sha256_checksum_header_stores_and_returns_it,
        boto3_put_with_a_wrong_checksum_header_is_400_bad_digest,
        boto3_presigned_get_url_returns_the_object,
        boto3_presigned_url_valid_for_8_days_is_400_authorization_query_parameters_error,
        boto3_errors_carry_aws_messages,
        boto3_a_wrong_secret_is_403_signature_does_not_match_with_its_message,
        boto3_metadata_over_2_kb_is_400_metadata_too_large,
        boto3_reserved_bucket_names_are_400_invalid_bucket_name,
        boto3_list_object_versions_pages_through_versions_and_delete_markers,
    ]
}


def main():
    name, bucket, versioned = sys.argv[1:4]
    check = CHECKS.get(name)
    if check is None:
        print(f"no check named {name} in wire_checks.py")
        return 2
    try:
        check(client(), bucket, versioned)
    except CheckFailed as e:
        print(e)
        return 1
    except ClientError as e:
        print(f"unexpected S3 error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
