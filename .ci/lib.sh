# Functions shared by the .ci scripts (sourced, not run).

# Prints the home of the newest JDK >= 22 found in $JAVA_HOME, $JAVA*_HOME or /usr/lib/jvm, or
# fails. The scripts run java, javac and Maven-built programs on it (Maven itself may stay on 17).
find_jdk22() {
  local best="" best_major=0 home major
  for home in "${JAVA_HOME:-}" $(env | sed -n 's/^JAVA[0-9_]*_HOME=//p') /usr/lib/jvm/*; do
    [ -n "$home" ] && [ -x "$home/bin/javac" ] && [ -f "$home/release" ] || continue
    major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
    if [ -n "$major" ] && [ "$major" -ge 22 ] && [ "$major" -gt "$best_major" ]; then
      best=$home best_major=$major
    fi
  done
  if [ -z "$best" ]; then
    echo "no JDK 22 or newer found (looked at JAVA_HOME, JAVA*_HOME and /usr/lib/jvm)" >&2
    return 1
  fi
  echo "$best"
}

# The project's version, from the root pom (the first <version> at two spaces' indent).
project_version() {
  sed -n 's:^  <version>\(.*\)</version>$:\1:p' pom.xml | head -1
}
