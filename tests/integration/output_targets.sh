# SPDX-License-Identifier: Apache-2.0
# -o never replaces what is not a regular file: a character device and a
# FIFO are written in place, "-" is standard output, a symbolic link to a
# file is refused (one to a device is written through), and a regular file
# is still replaced whole. For every command with -o.
. "$(dirname "$0")/lib.sh"
need_tool python3

init_node
printf 'payload-bytes' >"$T/p"
rec=$(mc record put --subject MRN-1 --category lab --type text/plain "$T/p")
mc consent grant --subject MRN-1 --to admin --purpose treatment >/dev/null 2>&1 || true

# cmd NAME OUT: each command with -o, writing to OUT
out_cmd() {
    case $1 in
    record) mc record get "$rec" -o "$2" ;;
    audit) mc audit export --format csv -o "$2" ;;
    consent) mc consent export -o "$2" ;;
    esac
}
have_mknod=1
mknod "$T/null" c 1 3 2>/dev/null || have_mknod=0
for c in record audit consent; do
    # standard output
    out_cmd "$c" - >"$T/stdout.$c" || fail "$c -o -"
    [ -s "$T/stdout.$c" ] || fail "$c -o - writes standard output"
    [ -e "$T/-" ] && fail "$c -o - made a file named -"
    # a FIFO, with a reader
    mkfifo "$T/fifo"
    cat "$T/fifo" >"$T/fifo.$c" &
    reader=$!
    out_cmd "$c" "$T/fifo" || fail "$c -o FIFO"
    wait "$reader"
    [ -p "$T/fifo" ] || fail "$c -o replaced the FIFO"
    cmp -s "$T/fifo.$c" "$T/stdout.$c" || [ "$c" = audit ] || [ "$c" = consent ] || fail "$c through the FIFO"
    [ -s "$T/fifo.$c" ] || fail "$c wrote nothing into the FIFO"
    rm "$T/fifo"
    # a character device made here (never the real /dev/null)
    if [ "$have_mknod" = 1 ]; then
        out_cmd "$c" "$T/null" || fail "$c -o a character device"
        [ -c "$T/null" ] || fail "$c -o replaced the character device"
    fi
    # a symbolic link to a file: refused, the link and its file unchanged
    echo keep >"$T/target"
    ln -s "$T/target" "$T/link"
    expect_exit 73 out_cmd "$c" "$T/link"
    grep -q "symbolic link" "$T/err" || fail "$c: the refusal names the symbolic link"
    [ -L "$T/link" ] && [ "$(cat "$T/target")" = keep ] || fail "$c: the link or its file changed"
    rm "$T/link"
    # a symbolic link to a device (as /dev/stdout is) is written through
    if [ "$have_mknod" = 1 ]; then
        ln -s "$T/null" "$T/devlink"
        out_cmd "$c" "$T/devlink" || fail "$c -o a link to a device"
        [ -L "$T/devlink" ] && [ -c "$T/null" ] || fail "$c replaced a link to a device"
        # ... but not a link someone else planted (a shared directory)
        chown -h nobody "$T/devlink"
        expect_exit 73 out_cmd "$c" "$T/devlink"
        grep -q "symbolic link" "$T/err" || fail "$c: a link owned by another user is refused"
        rm "$T/devlink"
        # a block device is never written (refused before it is opened)
        mknod "$T/blk" b 1 250
        expect_exit 73 out_cmd "$c" "$T/blk"
        grep -q "block device" "$T/err" || fail "$c: a block device is refused"
        ln -s "$T/blk" "$T/blklink"
        expect_exit 73 out_cmd "$c" "$T/blklink"
        rm "$T/blk" "$T/blklink"
    fi
    # a regular file is replaced whole (a new inode), not written into
    echo old-old-old-old-old-old-old-old-old-old-old-old-old-old-old-old >"$T/file"
    ino=$(stat -c %i "$T/file")
    out_cmd "$c" "$T/file" || fail "$c -o a regular file"
    [ "$(stat -c %i "$T/file")" != "$ino" ] || fail "$c: a regular file is replaced by rename"
    grep -q old-old "$T/file" && fail "$c: the old content is gone"
    ls "$T" | grep -q '\.tmp\.' && fail "$c left a temporary file"
    # a directory is refused
    mkdir "$T/dir"
    expect_exit 73 out_cmd "$c" "$T/dir"
    rmdir "$T/dir"
done
cmp -s "$T/fifo.record" "$T/p" || fail "record get through a FIFO gives the payload"
cmp -s "$T/stdout.record" "$T/p" || fail "record get -o - gives the payload"
[ "$have_mknod" = 1 ] && ok "a character device is written in place" || echo "note: mknod not permitted here"
ok "-o: standard output, FIFOs and character devices in place, block devices and symbolic links to files or owned by others refused, files replaced whole"

# backup refuses a symbolic link as its target, dangling or not
ln -s "$T/nowhere" "$T/bklink"
expect_exit 73 mc backup "$T/bklink"
[ -L "$T/bklink" ] || fail "backup replaced a symbolic link"
ok "backup does not replace a symbolic link"
