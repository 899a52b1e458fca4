package ctlab.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class AtomicFilesTest {
    @TempDir Path dir;

    @Test
    void writeReplacesTheWholeFileAndLeavesNoTempFile() throws Exception {
        Path f = dir.resolve("sub/a.txt");
        AtomicFiles.writeString(f, "one");
        AtomicFiles.writeString(f, "two");
        assertEquals("two", Files.readString(f));
        try (var s = Files.list(f.getParent())) { assertEquals(1, s.count()); }
    }

    /** Permissions come from the process umask, like a plain Files.write (createTempFile would give 0600). */
    @Test
    void writtenFilesGetTheSamePermissionsAsAPlainWrite() throws Exception {
        Path plain = Files.writeString(dir.resolve("plain.txt"), "x");
        Path atomic = dir.resolve("atomic.txt");
        AtomicFiles.writeString(atomic, "x");
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(atomic));
    }

    @Test
    void tempFilesAndFoldersGetTheSamePermissionsAsPlainOnes() throws Exception {
        Path plainFile = Files.createFile(dir.resolve("plain"));
        Path plainDir = Files.createDirectory(dir.resolve("plain-dir"));
        Path tmpFile = AtomicFiles.createTempFile(dir, ".x.", ".tmp");
        Path tmpDir = AtomicFiles.createTempDirectory(dir, ".x-");
        assertTrue(Files.isRegularFile(tmpFile) && tmpFile.getFileName().toString().startsWith(".x."));
        assertTrue(tmpFile.getFileName().toString().endsWith(".tmp"));
        assertTrue(Files.isDirectory(tmpDir) && tmpDir.getFileName().toString().startsWith(".x-"));
        assertNotEquals(tmpFile, AtomicFiles.createTempFile(dir, ".x.", ".tmp"));
        assertEquals(Files.getPosixFilePermissions(plainFile), Files.getPosixFilePermissions(tmpFile));
        assertEquals(Files.getPosixFilePermissions(plainDir), Files.getPosixFilePermissions(tmpDir));
    }
}
