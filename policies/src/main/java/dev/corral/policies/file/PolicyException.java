package dev.corral.policies.file;

/** A policy file that cannot be used: names the file, the path inside it ("classes[1].weight") and the problem. */
public final class PolicyException extends Exception {

    private final String file;
    private final String path;
    private final String problem;

    public PolicyException(String file, String path, String problem) {
        super(file + (path.isEmpty() ? "" : ": " + path) + ": " + problem);
        this.file = file;
        this.path = path;
        this.problem = problem;
    }

    public String file() {
        return file;
    }

    public String path() {
        return path;
    }

    public String problem() {
        return problem;
    }
}
