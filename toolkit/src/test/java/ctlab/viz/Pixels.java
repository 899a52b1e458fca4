package ctlab.viz;

import java.awt.image.BufferedImage;

/** Pixel statistics for "did it draw anything" checks. */
final class Pixels {
    private Pixels() {}

    /** Standard deviation of the grey level over all pixels (0 for a blank image). */
    static double stddev(BufferedImage img) {
        double sum = 0, sq = 0;
        long n = (long) img.getWidth() * img.getHeight();
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                double g = 0.299 * (rgb >> 16 & 0xff) + 0.587 * (rgb >> 8 & 0xff) + 0.114 * (rgb & 0xff);
                sum += g;
                sq += g * g;
            }
        }
        double mean = sum / n;
        return Math.sqrt(Math.max(0, sq / n - mean * mean));
    }

    /** Pixels of exactly this RGB colour. */
    static int count(BufferedImage img, int rgb) {
        int c = 0;
        for (int y = 0; y < img.getHeight(); y++)
            for (int x = 0; x < img.getWidth(); x++) if ((img.getRGB(x, y) & 0xffffff) == rgb) c++;
        return c;
    }
}
