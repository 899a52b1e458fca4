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

    @Test void whitespaceOnlyTokensAreShownVisibly() {
        TokenHeatMap m = TokenHeatMap.of(List.of("a", " ", "\n", "b c"), new double[]{0.1, 0.2, 0.3, 0.4});
        String html = m.toHtml();
        assertTrue(html.contains(">␣<"), "a space token shows as ␣");
        assertTrue(html.contains(">↵<"), "a newline token shows as ↵");
        assertTrue(html.contains(">b c<"), "spaces inside a word token stay spaces");
        String svg = new TokenHeatMapImage(m, null, "s", 400).svg();
        assertTrue(svg.contains(">␣</text>"), "the figure shows it too");
    }

    @Test void markedPositionsAreOutlinedAndLabelled() throws Exception {
        TokenHeatMap m = TokenHeatMap.of(List.of("x", "owed", "y"), new double[]{0.9, 0.05, 0.8})
                .mark("rollout critical token", 1);
        assertEquals(List.of(new TokenHeatMap.Marking("rollout critical token", java.util.Set.of(1))), m.markings());
        String html = m.toHtml();
        assertTrue(html.contains("outline:"), "the marked token is outlined");
        assertTrue(html.contains("rollout critical token"), "legend names the marking");
        assertEquals(1, html.split("outline:", -1).length - 2, "only the marked token (plus its legend swatch)");
        // a second marking (e.g. planted ground truth) gets its own style
        TokenHeatMap two = m.mark("planted", 0, 1);
        assertEquals(2, two.markings().size());
        assertNotEquals(TokenHeatMap.markColor(0), TokenHeatMap.markColor(1));
        TokenHeatMapImage img = new TokenHeatMapImage(two, "t", "s", 400);
        String svg = img.svg();
        assertTrue(svg.contains("rollout critical token") && svg.contains("planted"));
        java.awt.image.BufferedImage png = img.render(72);
        int rgb = Integer.parseInt(TokenHeatMap.markColor(0).substring(1), 16);
        assertTrue(Pixels.count(png, rgb) > 10, "outline drawn in the marking's colour");
        assertThrows(CtlabException.class, () -> m.mark("bad", 3), "position outside the tokens");
        assertThrows(CtlabException.class, () -> m.mark(" ", 0), "a marking needs a label");
    }

    @Test void imageOfAMapKeepsItsTitleAndMarkings() {
        TokenHeatMap m = TokenHeatMap.of(List.of("x", "y"), new double[]{0.2, 0.8}).title("my map").mark("planted", 1);
        assertEquals("my map", m.title());
        String svg = m.image("s_t").svg();
        assertTrue(svg.contains(">my map</text>") && svg.contains(">planted</text>"), svg);
        byte[] pdf = m.image("s_t").pdf();
        assertEquals("%PDF", new String(pdf, 0, 4, java.nio.charset.StandardCharsets.ISO_8859_1), "vector PDF for papers");
    }
}
