#!/bin/bash
# Descriptors inside the sandbox behave as on Linux, per process: /bin/sh
# scripts with redirections both ways, `exec 3>&1`, `2>&1`, pipelines,
# subshells that close descriptors, here-documents; run as the caller and
# as nobody.  Prints TAP.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
SH=/bin/sh

# sh_case NAME SCRIPT WANT: run SCRIPT with /bin/sh inside, compare stdout.
sh_case() {
    local name=$1 script=$2 want=$3 as=${4:-}
    printf '%s\n' "$script" > "$WORK/$name.sh"
    printf '[args]\nargs = sh /dev/script\n[env]\nname=PATH,value=/usr/bin:/bin\n' > "$WORK/$name.nv"
    manifest "$WORK/$name.m" "$SH" 20 268435456 \
        "/dev/stdout,/dev/stdout,0,0,0,0,1000,65536" \
        "$WORK/$name.err,/dev/stderr,0,0,0,0,1000,65536" \
        "$WORK/$name.nv,/dev/nvram,0,0,100,65536,0,0" \
        "$WORK/$name.sh,/dev/script,0,0,100,65536,0,0" \
        "$WORK/$name.in,/dev/input,0,0,100,65536,0,0" \
        "$WORK/$name.out,/dev/output,0,0,0,0,100,65536"
    printf 'one\ntwo\nthree\n' > "$WORK/$name.in"
    chmod 644 "$WORK/$name".*
    RC=0
    if [ -n "$as" ]; then
        : > "$WORK/$name.err"; : > "$WORK/$name.out"; : > "$WORK/report"
        chown nobody "$WORK/$name.err" "$WORK/$name.out" "$WORK/report"
        timeout 60 setpriv --reuid=nobody --regid=nogroup --clear-groups \
            "$ZEROVM" --report-file="$WORK/report" "$WORK/$name.m" > "$WORK/out" 2> "$WORK/err" || RC=$?
    else
        timeout 60 "$ZEROVM" --report-file="$WORK/report" "$WORK/$name.m" > "$WORK/out" 2> "$WORK/err" || RC=$?
    fi
    is "$(cat "$WORK/out")" "$want" "sh $name${as:+ [nobody]}: output"
    is "$RC $(sed -n 3p "$WORK/report") $(sed -n 6p "$WORK/report") $(cat "$WORK/$name.err")" "0 0 ok " \
        "sh $name${as:+ [nobody]}: exit 0, state ok, nothing on stderr"
}

sh_case redirect_both 'echo hi > /tmp/f; wc -c < /tmp/f' '3'
sh_case exec_dup 'exec 3>&1; echo to-three >&3; exec 3>&-; echo back' 'to-three
back'
sh_case stderr_to_stdout 'ls /nonexistent 2>&1 | sed "s/:.*//"; { echo x 1>&2; } 2>&1' 'ls
x'
sh_case pipeline 'printf "a b\nc\n" | wc -w; cat /dev/input | sort | head -n 2' '3
one
three'
sh_case input_redirect 'read first < /dev/input; echo "$first"; wc -l < /dev/input' 'one
2'
sh_case output_channel 'echo line > /dev/output; cat /dev/input >> /dev/output; echo done' 'done'
sh_case subshell_close '(exec 1>&-; echo lost 2>/dev/null); (exec >&-); echo parent-still-writes' 'parent-still-writes'
sh_case heredoc 'cat <<END
here $((1 + 1))
END
tr a-z A-Z <<END
doc
END' 'here 2
DOC'
sh_case save_restore 'exec 4>&1 1>/tmp/g; echo into-g; exec 1>&4 4>&-; cat /tmp/g' 'into-g'
sh_case fd_in_loop 'for i in 1 2 3; do echo $i; done > /tmp/h; while read l; do echo "<$l>"; done < /tmp/h' '<1>
<2>
<3>'
sh_case cloexec_exec 'exec 5>&1; sh -c "echo child >&5"; exec 5>&-; sh -c "echo none >&5" 2>/dev/null; echo end' 'child
end'
is "$(cat "$WORK/output_channel.out")" "line
one
two
three" "sh output_channel: the output channel got the redirected bytes"

if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
    sh_case redirect_both 'echo hi > /tmp/f; wc -c < /tmp/f' '3' nobody
    sh_case pipeline 'printf "a b\nc\n" | wc -w; cat /dev/input | sort | head -n 2' '3
one
three' nobody
else
    skip "not root: the [nobody] cases need setpriv as root"
fi
done_testing
