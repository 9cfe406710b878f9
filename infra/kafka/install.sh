#!/usr/bin/env bash
# Installs the Kafka broker's jars (infra/kafka/pom.xml) from Maven Central into
# .tools/kafka/jars/. Needs Java 17+ and Maven; without them it says so and exits 2
# (the broker is only needed by `hepflow serve --kafka`, `hepflow stack up --kafka`
# and the Kafka tests, which skip with that reason). Quick when already installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools="$PWD/.tools"
jars="$tools/kafka/jars"
stamp="$tools/kafka.stamp"
h=$(sha256sum infra/kafka/pom.xml | cut -c1-16)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$h" && -d "$jars" ]]; then exit 0; fi
java=${HEPFLOW_JAVA:-java}
if ! command -v "$java" >/dev/null || ! command -v mvn >/dev/null; then
  echo "[kafka] not installing the Kafka broker: needs Java 17+ ($java) and Maven (mvn) on PATH" >&2
  exit 2
fi
major=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
if [[ -z "$major" || "${major%%.*}" -lt 17 ]]; then
  echo "[kafka] not installing the Kafka broker: Kafka 4 needs Java 17+, $java is ${major:-unknown}" >&2
  exit 2
fi
echo "[kafka] installing the Kafka broker's jars from Maven Central into .tools/kafka/jars" >&2
rm -rf "$jars.partial"
mvn -q -B -Dstyle.color=never -f infra/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$jars.partial"
rm -rf "$jars"
mv "$jars.partial" "$jars"
printf '%s' "$h" > "$stamp"
