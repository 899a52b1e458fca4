package ctlab.viz;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TokenHeatMapTest {
    @Test void sequentialScaleEndsAreViridisEnds() {
        TokenHeatMap m = TokenHeatMap.of(List.of("a", "b", "c"), new double[]{0, 0.5, 1});
        assertEquals(TokenHeatMap.Scale.SEQUENTIAL, m.scale());
        assertEquals("#440154", m.colorOf(0));
        assertEquals("#21918c", m.colorOf(0.5));
        assertEquals("#fde725", m.colorOf(1));
        assertEquals("#fde725", m.colorOf(7), "values above the range are clamped");
        assertEquals("#bdbdbd", m.colorOf(Double.NaN));
    }

    @Test void negativeScoresGiveASymmetricDivergingScale() {
        TokenHeatMap m = TokenHeatMap.of(List.of("x", "y"), new double[]{-2, 1});
        assertEquals(TokenHeatMap.Scale.DIVERGING, m.scale());
        assertEquals(-2, m.min());
        assertEquals(2, m.max());
        assertEquals("#f7f7f7", m.colorOf(0), "zero is the neutral middle");
    }

    @Test void htmlEscapesTokensAndShowsScoresOnHover() {
        String html = TokenHeatMap.of(List.of("<b>", " & ", "\n"), new double[]{0.25, 0.5, 0.75}).title("t\"1").toHtml();
        assertTrue(html.contains("&lt;b&gt;"), html);
        assertFalse(html.contains("<b>"), "raw token markup must not leak into the page");
        assertTrue(html.contains("title=\"&lt;b&gt; : 0.2500\""), html);
        assertTrue(html.contains("↵"), "newline tokens are made visible");
        assertTrue(html.contains("t&quot;1"));
        assertFalse(html.contains("<script"), "self-contained and script-free");
    }

    @Test void textOnDarkIsWhiteAndOnLightIsBlack() {
        assertEquals("#ffffff", TokenHeatMap.textColorOn("#440154"));
        assertEquals("#000000", TokenHeatMap.textColorOn("#fde725"));
    }

    @Test void mismatchedLengthsAndBadRangeAreUserErrors() {
        assertThrows(CtlabException.class, () -> TokenHeatMap.of(List.of("a"), new double[]{1, 2}));
        TokenHeatMap m = TokenHeatMap.of(List.of("a"), new double[]{1});
        assertThrows(CtlabException.class, () -> m.range(1, 1));
    }

    @Test void saveWritesAPage(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.html");
        TokenHeatMap.of(List.of("hi"), List.of(0.3)).save(f);
        String page = Files.readString(f);
        assertTrue(page.startsWith("<!DOCTYPE html>"));
        assertTrue(page.contains(">hi</span>"));
    }
}
