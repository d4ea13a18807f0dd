#!/usr/bin/env bash
# Runs the public ceph/s3-tests suite against an Archipel S3 gateway, group by group, and prints
# passed/failed per group (docs/s3.md keeps the last results). The suite is not part of this
# repository: pass a checkout of https://github.com/ceph/s3-tests and a Python venv holding its
# requirements.txt.
#
#   scripts/s3-tests.sh S3TESTS_DIR VENV_DIR [GROUP…]
#
# Needs ARCHIPEL_S3 (the gateway URL, as `archipel dev` prints it) and ARCHIPEL_CLUSTER; creates
# two tenants' keys (s3tmain, s3talt) with `archipel s3 key create`.
set -euo pipefail

S3TESTS=${1:?usage: $0 S3TESTS_DIR VENV_DIR [GROUP…]}
VENV=${2:?usage: $0 S3TESTS_DIR VENV_DIR [GROUP…]}
shift 2
: "${ARCHIPEL_S3:?set ARCHIPEL_S3 to the gateway URL (archipel dev prints it)}"
ARCHIPEL=${ARCHIPEL_BIN:-archipel}

declare -A GROUPS_K=(
  [buckets]="test_bucket_create or test_bucket_delete or test_bucket_head or test_list_buckets or test_bucket_recreate or test_buckets_create or test_bucket_notexist or test_bucketv2_notexist or test_get_bucket_location or test_create_bucket"
  [objects]="test_object_write or test_object_read or test_put_object or test_get_object or test_object_head or test_object_metadata or test_object_set_get or test_object_delete or test_delete_object or test_object_create or test_atomic or test_object_overwrite or test_object_content_encoding or test_object_ua"
  [ranges]="test_ranged"
  [listing_v1]="test_bucket_list and not test_bucket_listv2"
  [listing_v2]="test_bucket_listv2"
  [multipart]="multipart and not copy"
  [copy]="copy"
  [conditionals]="ifmatch or ifnonematch or if_match or if_none_match or ifmodified or ifunmodified or conditional"
  [content_md5]="md5"
  [checksums]="checksum"
  [presigned]="presigned"
  [delete_objects]="test_multi_object_delete or test_delete_objects"
  [object_lock]="object_lock"
)
ORDER=(buckets objects ranges listing_v1 listing_v2 multipart copy conditionals content_md5 checksums presigned delete_objects object_lock auth)
if (($#)); then ORDER=("$@"); fi

hostport=${ARCHIPEL_S3#http://}
host=${hostport%:*}
port=${hostport##*:}
key() { "$ARCHIPEL" s3 key create --tenant "$1" --json; }
main=$(key s3tmain)
alt=$(key s3talt)
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
work=$(mktemp -d)
conf=$work/s3tests.conf
cat >"$conf" <<CONF
[DEFAULT]
host = $host
port = $port
is_secure = False
ssl_verify = False
[fixtures]
bucket prefix = s3t-{random}-
iam name prefix = s3-tests-
iam path prefix = /s3-tests/
[s3 main]
display_name = s3tmain
user_id = s3tmain
email = main@example.org
api_name = default
access_key = $(field access_key <<<"$main")
secret_key = $(field secret_key <<<"$main")
[s3 alt]
display_name = s3talt
user_id = s3talt
email = alt@example.org
access_key = $(field access_key <<<"$alt")
secret_key = $(field secret_key <<<"$alt")
[s3 tenant]
display_name = s3talt
user_id = s3talt
email = alt@example.org
tenant = s3talt
access_key = $(field access_key <<<"$alt")
secret_key = $(field secret_key <<<"$alt")
[iam]
email = main@example.org
user_id = s3tmain
access_key = $(field access_key <<<"$main")
secret_key = $(field secret_key <<<"$main")
display_name = s3tmain
[iam root]
access_key = $(field access_key <<<"$main")
secret_key = $(field secret_key <<<"$main")
user_id = s3tmain
email = main@example.org
[iam alt root]
access_key = $(field access_key <<<"$alt")
secret_key = $(field secret_key <<<"$alt")
user_id = s3talt
email = alt@example.org
CONF

printf '%-16s %7s %7s %7s\n' group passed failed errors
for g in "${ORDER[@]}"; do
  if [ "$g" = auth ]; then
    target=s3tests/functional/test_headers.py; k=""
  else
    target=s3tests/functional/test_s3.py; k=${GROUPS_K[$g]}
  fi
  xml=$work/$g.xml
  (cd "$S3TESTS" && S3TEST_CONF=$conf "$VENV/bin/pytest" -q -p no:cacheprovider ${k:+-k "$k"} \
    --junitxml="$xml" "$target" >"$work/$g.log" 2>&1) || true
  python3 - "$xml" "$g" <<'PY'
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot()
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
t, f, e, s = (int(suite.get(a, 0)) for a in ("tests", "failures", "errors", "skipped"))
print(f"{sys.argv[2]:<16} {t - f - e - s:>7} {f:>7} {e:>7}")
PY
done
echo "logs and junit files: $work"
