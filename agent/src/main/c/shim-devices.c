/* corral-shim: the cgroup v2 device filter (a BPF_PROG_TYPE_CGROUP_DEVICE program). */
#include "corral-shim.h"

/* ------------------------------------------------------------------------------------------------ */
/* Device filter (cgroup v2)                                                                         */

/*
 * cgroup v2 has no devices controller: as runc and crun do, a BPF_PROG_TYPE_CGROUP_DEVICE program attached
 * to the container's cgroup decides every open/mknod of a device node. It is built from the agent's rules
 * ("c 1:3 rwm", the v1 devices.allow syntax, from DeviceRules.DEFAULT), allows what one of them matches and
 * denies the rest. It stays attached for the cgroup's life (an agent restart reloads nothing) and goes with
 * its rmdir.
 */

static struct bpf_insn devf_insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    struct bpf_insn i;
    memset(&i, 0, sizeof i);
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

/* "T MAJ:MIN ACC" with T in a/b/c, MAJ and MIN a number or '*', ACC a non-empty subset of "rwm". */
int parse_dev_rule(const char *s, struct dev_rule *r)
{
    const char *p = s;
    if (*p == 'a')
        r->type = 0;
    else if (*p == 'b')
        r->type = BPF_DEVCG_DEV_BLOCK;
    else if (*p == 'c')
        r->type = BPF_DEVCG_DEV_CHAR;
    else
        return -1;
    p++;
    if (*p != ' ')
        return -1;
    p++;
    long *num[2] = {&r->major, &r->minor};
    for (int k = 0; k < 2; k++) {
        if (*p == '*') {
            *num[k] = -1;
            p++;
        } else {
            if (*p < '0' || *p > '9')
                return -1;
            char *end;
            errno = 0;
            unsigned long v = strtoul(p, &end, 10);
            if (errno || v > INT32_MAX) /* compared as a sign-extended 32-bit immediate */
                return -1;
            *num[k] = (long)v;
            p = end;
        }
        if (*p++ != (k == 0 ? ':' : ' '))
            return -1;
    }
    r->access = 0;
    for (; *p; p++) {
        int a = *p == 'r' ? BPF_DEVCG_ACC_READ : *p == 'w' ? BPF_DEVCG_ACC_WRITE : *p == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
        if (!a || (r->access & a))
            return -1;
        r->access |= a;
    }
    return r->access ? 0 : -1;
}

/* The program: one block per rule that jumps to the next block on the first mismatch, else returns 1. */
size_t devf_build(const struct dev_rule *rules, size_t n, struct bpf_insn *prog)
{
    size_t k = 0;
    /* r2 = type, r3 = access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx) */
    prog[k++] = devf_insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
    prog[k++] = devf_insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF);
    prog[k++] = devf_insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0);
    prog[k++] = devf_insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
    prog[k++] = devf_insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0);
    prog[k++] = devf_insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);
    for (size_t i = 0; i < n; i++) {
        const struct dev_rule *r = &rules[i];
        size_t jumps[4], nj = 0;
        if (r->type) {
            jumps[nj++] = k;
            prog[k++] = devf_insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, r->type);
        }
        if (r->access != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
            /* every requested access must be in the rule's: (access & rule) == access */
            prog[k++] = devf_insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
            prog[k++] = devf_insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, r->access);
            jumps[nj++] = k;
            prog[k++] = devf_insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
        }
        if (r->major >= 0) {
            jumps[nj++] = k;
            prog[k++] = devf_insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)r->major);
        }
        if (r->minor >= 0) {
            jumps[nj++] = k;
            prog[k++] = devf_insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)r->minor);
        }
        prog[k++] = devf_insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
        prog[k++] = devf_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        for (size_t j = 0; j < nj; j++)
            prog[jumps[j]].off = (int16_t)(k - jumps[j] - 1);
    }
    prog[k++] = devf_insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
    prog[k++] = devf_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    return k;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
    return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

/*
 * Loads the program for the rules; returns its fd, or -1 with msg set. The verifier's log is read only
 * after a failure (a second load with a log buffer), since the log costs time on every launch otherwise.
 */
int devf_load(char *const *rule_text, size_t n, char *msg, size_t msg_size)
{
    static struct dev_rule rules[DEVF_MAX_RULES];
    static struct bpf_insn prog[DEVF_MAX_INSNS];
    if (n > DEVF_MAX_RULES) {
        snprintf(msg, msg_size, "more than %d device rules", DEVF_MAX_RULES);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (parse_dev_rule(rule_text[i], &rules[i]) < 0) {
            snprintf(msg, msg_size, "device rule \"%.100s\": expected \"TYPE MAJOR:MINOR ACCESS\" "
                     "(a/b/c, a number or *, some of rwm)", rule_text[i]);
            return -1;
        }
    size_t len = devf_build(rules, n, prog);
    for (int with_log = 0; with_log < 2; with_log++) {
        static char log[8192];
        union bpf_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t)(uintptr_t)prog;
        attr.insn_cnt = (uint32_t)len;
        /* No GPL-only helper is called: any license string loads; the program is the project's own code. */
        attr.license = (uint64_t)(uintptr_t)"Apache-2.0";
        if (with_log) {
            log[0] = 0;
            attr.log_buf = (uint64_t)(uintptr_t)log;
            attr.log_size = sizeof log;
            attr.log_level = 1;
        }
        int fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd >= 0)
            return fd;
        int err = errno;
        if (with_log || (err != EINVAL && err != EACCES)) {
            for (char *c = log; *c; c++)
                if (*c == '\n')
                    *c = ' ';
            snprintf(msg, msg_size, "load the BPF device program (cgroup v2 device control; kernel 4.15 or "
                     "later, CAP_SYS_ADMIN or CAP_BPF): %s%s%.120s", strerror(err), with_log && log[0] ? ": " : "",
                     with_log ? log : "");
            return -1;
        }
    }
    return -1;
}

/*
 * Attaches the program to the cgroup directory, replacing what an earlier start of the same container
 * attached (an exited container keeps its cgroup): the new one is attached first and the old ones detached
 * after, so the cgroup is never without a filter. BPF_F_ALLOW_MULTI lets a program on an ancestor (systemd's,
 * say) stay in force too: every attached program must allow an access.
 */
static int devf_attach(int prog_fd, const char *cgroup_dir, char *msg, size_t msg_size)
{
    int cg = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg < 0) {
        snprintf(msg, msg_size, "open %.300s: %s", cgroup_dir, strerror(errno));
        return -1;
    }
    uint32_t old[64], n_old = 64;
    union bpf_attr q;
    memset(&q, 0, sizeof q);
    q.query.target_fd = (uint32_t)cg;
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = (uint64_t)(uintptr_t)old;
    q.query.prog_cnt = n_old;
    if (sys_bpf(BPF_PROG_QUERY, &q) < 0) {
        snprintf(msg, msg_size, "query the device programs of %.300s: %s", cgroup_dir, strerror(errno));
        close(cg);
        return -1;
    }
    n_old = q.query.prog_cnt < 64 ? q.query.prog_cnt : 64;

    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.target_fd = (uint32_t)cg;
    a.attach_bpf_fd = (uint32_t)prog_fd;
    a.attach_type = BPF_CGROUP_DEVICE;
    a.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &a) < 0) {
        snprintf(msg, msg_size, "attach the BPF device program to %.300s: %s", cgroup_dir, strerror(errno));
        close(cg);
        return -1;
    }
    for (uint32_t i = 0; i < n_old; i++) {
        union bpf_attr g;
        memset(&g, 0, sizeof g);
        g.prog_id = old[i];
        int fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
        if (fd < 0)
            continue; /* gone meanwhile */
        union bpf_attr d;
        memset(&d, 0, sizeof d);
        d.target_fd = (uint32_t)cg;
        d.attach_bpf_fd = (uint32_t)fd;
        d.attach_type = BPF_CGROUP_DEVICE;
        int rc = (int)sys_bpf(BPF_PROG_DETACH, &d);
        int err = errno;
        close(fd);
        if (rc < 0 && err != ENOENT) {
            snprintf(msg, msg_size, "detach the earlier device program %u from %.300s: %s", old[i], cgroup_dir,
                     strerror(err));
            close(cg);
            return -1;
        }
    }
    close(cg);
    return 0;
}

/* Monitor, before init joins the cgroup: the container's first exec already runs under the filter. */
void device_filter_apply(void)
{
    if (!cfg.device_cgroup)
        return;
    char msg[MSG_MAX - 20];
    int fd = devf_load(cfg.device_rule.v, cfg.device_rule.n, msg, sizeof msg);
    if (fd < 0 || devf_attach(fd, cfg.device_cgroup, msg, sizeof msg) < 0) {
        char full[MSG_MAX];
        snprintf(full, sizeof full, "devices: %s", msg);
        fail_msg(full);
    }
    close(fd); /* the attachment holds the program */
}

/* "corral-shim devices-probe RULE...": can this kernel load the program? Prints why not, exit 1. */
int devices_probe(int n, char **rules)
{
    char msg[MSG_MAX];
    int fd = devf_load(rules, (size_t)n, msg, sizeof msg);
    if (fd < 0) {
        fprintf(stderr, "corral-shim: devices: %s\n", msg);
        return 1;
    }
    close(fd);
    return 0;
}
