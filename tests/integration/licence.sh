#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The licence is stated: the Apache License 2.0 in LICENSE, and an SPDX
# line naming it at the top of every source file (C, headers, scripts,
# the build files, the man pages, the units, the examples and the Debian
# packaging; debian/changelog, debian/copyright and debian/source/format
# have fixed formats with no room for it: debian/copyright states the licence).
. "$(dirname "$0")/lib.sh"
S="$MC_SRCDIR"
[ -f "$S/LICENSE" ] || fail "LICENSE is missing"
grep -q "Apache License" "$S/LICENSE" && grep -q "Version 2.0, January 2004" "$S/LICENSE" \
    || fail "LICENSE is not the Apache License 2.0"
missing=0 n=0
while IFS= read -r f; do
    # a program built in a source tree configured in place (make bench)
    [ "$(head -c 4 "$f" | tr -d '\0')" = "$(printf '\177ELF')" ] && continue
    n=$((n + 1))
    head -n 3 "$f" | grep -q "SPDX-License-Identifier: Apache-2.0" || { echo "no SPDX line: ${f#"$S"/}"; missing=$((missing + 1)); }
done < <(cd "$S" && find src ui bridge tests tools examples docs completion -type f \
    \( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.in' -o -name '*.timer' -o -name '*.1' -o -name '*.5' \
       -o -name '*.conf' -o -path 'tools/*' -o -path 'completion/*' -o -path 'tests/campaign/*' -o -path 'tests/bench/*' -o -path 'examples/*' \) \
    ! -path '*/corpus/*' ! -name '*.json' ! -name '*.md' \
    ! -path '*/.deps/*' ! -name '*.o' ! -name '*.log' ! -name '*.trs' ! -name .dirstamp \
    | sed "s|^|$S/|"; echo "$S/Makefile.am"; echo "$S/configure.ac"
    if [ -d "$S/debian" ]; then
        # what dpkg-buildpackage leaves (see .gitignore) is not source
        cd "$S" && find debian -type f ! -path 'debian/.debhelper/*' ! -path 'debian/medchain/*' ! -path 'debian/tmp/*' \
            ! -path 'debian/build/*' ! -name changelog ! -name copyright ! -path debian/source/format ! -name files \
            ! -name '*.substvars' ! -name '*.debhelper' ! -name '*.log' ! -name debhelper-build-stamp \
            ! -name 'autoreconf.*' | sed "s|^|$S/|"
    fi)
[ "$missing" = 0 ] || fail "$missing of $n source files lack the SPDX line"
ok "LICENSE is the Apache License 2.0; all $n source files carry SPDX-License-Identifier: Apache-2.0"
