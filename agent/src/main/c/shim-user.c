/* corral-shim: a user given by name (or number) resolved in the container's own /etc/passwd and /etc/group. */
#include "corral-shim.h"

/* Splits an /etc/passwd or /etc/group line into at most max ':' fields; returns how many. */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ':') {
            *p = 0;
            f[n++] = p + 1;
        }
    return n;
}

static int numeric(const char *s, unsigned long long *v)
{
    return parse_ull(s, UINT32_MAX - 1, v) == 0;
}

static int in_list(const char *members, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = members; *p;) {
        const char *end = strchrnul(p, ',');
        if ((size_t)(end - p) == len && strncmp(p, name, len) == 0)
            return 1;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static void add_group(gid_t g)
{
    for (size_t i = 0; i < cfg.n_groups; i++)
        if (cfg.groups[i] == g)
            return;
    cfg.groups = realloc(cfg.groups, (cfg.n_groups + 1) * sizeof *cfg.groups);
    if (!cfg.groups)
        fail_errno(ENOMEM, "user");
    cfg.groups[cfg.n_groups++] = g;
}

/*
 * "USER[:GROUP]", each a name or a number, as runc resolves it for Docker: the user's passwd entry (by name, or by
 * uid for a number) gives uid and gid; a number without an entry is taken as is with gid 0; a name without one is
 * an error. An explicit GROUP (by name or gid in /etc/group, a number taken as is) sets the gid; without one the
 * user's supplementary groups are those that list its name in /etc/group. The config's own groups (group_add) are
 * kept. The files are read from the root this process sees: call it after pivot_root (or setns into the mount
 * namespace). No NSS: a container's files are its own.
 */
void resolve_user(const char *spec)
{
    char user[256], group[256] = "";
    const char *colon = strchr(spec, ':');
    size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
    if (ulen == 0 || ulen >= sizeof user || (colon && (!colon[1] || strlen(colon + 1) >= sizeof group)))
        fail_msg("user: expected USER[:GROUP] (names or numbers)");
    memcpy(user, spec, ulen);
    user[ulen] = 0;
    if (colon)
        snprintf(group, sizeof group, "%s", colon + 1);

    unsigned long long num;
    int user_numeric = numeric(user, &num);
    uid_t uid = user_numeric ? (uid_t)num : 0;
    gid_t gid = 0;
    int found = 0;
    char matched[256] = "";
    char line[4096];
    FILE *f = fopen("/etc/passwd", "re");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *fl[7];
        unsigned long long u, g;
        if (split_fields(line, fl, 7) < 4 || !numeric(fl[2], &u) || !numeric(fl[3], &g))
            continue;
        if (strcmp(fl[0], user) == 0 || (user_numeric && u == num)) {
            uid = (uid_t)u;
            gid = (gid_t)g;
            snprintf(matched, sizeof matched, "%s", fl[0]);
            found = 1;
            break;
        }
    }
    if (f)
        fclose(f);
    if (!found && !user_numeric) {
        char msg[MSG_MAX];
        snprintf(msg, sizeof msg, "user: unable to find user %.200s: no matching entries in the container's "
                 "/etc/passwd", user);
        fail_msg(msg);
    }

    gid_t *sgids = NULL;
    size_t n_sgids = 0;
    int group_found = 0;
    int group_numeric = group[0] && numeric(group, &num);
    f = (group[0] || matched[0]) ? fopen("/etc/group", "re") : NULL;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *fl[4];
        unsigned long long g;
        int n = split_fields(line, fl, 4);
        if (n < 3 || !numeric(fl[2], &g))
            continue;
        if (group[0]) {
            if (strcmp(fl[0], group) == 0 || (group_numeric && g == num)) {
                gid = (gid_t)g;
                group_found = 1;
                break;
            }
        } else if (n == 4 && in_list(fl[3], matched)) {
            sgids = realloc(sgids, (n_sgids + 1) * sizeof *sgids);
            if (!sgids)
                fail_errno(ENOMEM, "user");
            sgids[n_sgids++] = (gid_t)g;
        }
    }
    if (f)
        fclose(f);
    if (group[0] && !group_found) {
        if (!group_numeric) {
            char msg[MSG_MAX];
            snprintf(msg, sizeof msg, "user: unable to find group %.200s: no matching entries in the container's "
                     "/etc/group", group);
            fail_msg(msg);
        }
        gid = (gid_t)num;
    }

    /* The user's groups first, then the config's own (Docker's group_add), without repeats. */
    gid_t *extra = cfg.groups;
    size_t n_extra = cfg.n_groups;
    cfg.groups = NULL;
    cfg.n_groups = 0;
    for (size_t i = 0; i < n_sgids; i++)
        add_group(sgids[i]);
    for (size_t i = 0; i < n_extra; i++)
        add_group(extra[i]);
    free(sgids);
    free(extra);
    cfg.uid = uid;
    cfg.gid = gid;
}
