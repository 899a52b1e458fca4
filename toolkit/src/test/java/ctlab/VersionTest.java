package ctlab;

import ctlab.cli.Main;
import ctlab.lab.Lab;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** The version has one source, the pom: read from the jar manifest, or from the generated resource under classes. */
class VersionTest {
    /** The parent pom's {@code <version>} (tests run in toolkit/). */
    static String pomVersion() throws Exception {
        String pom = Files.readString(Path.of("../pom.xml"));
        Matcher m = Pattern.compile("<artifactId>ctlab-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find(), "no ctlab-parent version in ../pom.xml");
        return m.group(1);
    }

    @Test
    void everyPlaceThatNamesTheVersionReadsThePomVersion() throws Exception {
        String v = pomVersion();
        assertEquals(v, Version.get());
        assertEquals(v, Lab.version());
        StringWriter out = new StringWriter();
        int code = new CommandLine(new Main()).setOut(new PrintWriter(out)).execute("--version");
        assertEquals(0, code);
        assertEquals("ctlab " + v, out.toString().trim());
    }
}
