package dev.corral.agent.client;

import java.util.concurrent.ThreadLocalRandom;

/** Names for containers started without --name: two words, as docker makes them ("brave-otter"). */
final class Names {

    private static final String[] ADJECTIVES = {
        "agile", "amber", "ample", "bold", "brave", "brisk", "calm", "clever", "cosmic", "crisp", "daring", "deft",
        "eager", "early", "fancy", "fast", "fierce", "fluffy", "frosty", "gentle", "giddy", "golden", "happy",
        "hardy", "humble", "jolly", "keen", "kind", "lively", "lucid", "lucky", "merry", "mighty", "nimble",
        "noble", "patient", "plucky", "polite", "proud", "quick", "quiet", "rapid", "rustic", "sharp", "shiny",
        "silent", "sleepy", "smart", "snowy", "solid", "steady", "stoic", "sunny", "swift", "tidy", "vivid",
        "witty", "zesty",
    };
    private static final String[] NOUNS = {
        "alpaca", "badger", "beaver", "bison", "bronco", "buffalo", "burro", "calf", "camel", "colt", "cougar",
        "coyote", "donkey", "eagle", "elk", "falcon", "ferret", "filly", "fox", "gecko", "goat", "hare", "heron",
        "horse", "ibex", "jackal", "lamb", "llama", "lynx", "marmot", "mare", "moose", "mule", "mustang", "otter",
        "owl", "ox", "pony", "puma", "quail", "rabbit", "ram", "raven", "salmon", "sheep", "stallion", "stoat",
        "trout", "turtle", "vicuna", "vole", "walrus", "weasel", "wolf", "yak", "zebra",
    };
    private Names() {
    }

    static String generate() {
        return ADJECTIVES[ThreadLocalRandom.current().nextInt(ADJECTIVES.length)] + "-" + NOUNS[ThreadLocalRandom.current().nextInt(NOUNS.length)];
    }

    /** After a collision: a suffix makes another one unlikely. */
    static String generateWithSuffix() {
        return generate() + "-" + Integer.toHexString(0x1000 + ThreadLocalRandom.current().nextInt(0xf000));
    }
}
