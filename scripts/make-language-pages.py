#!/usr/bin/env python3
"""Makes tests/corpus/languages: letters in French, Spanish, Irish and English with
names written with their fadas and accents, each drawn as a grey A4 page at 200 dpi in
DejaVu Sans (Debian's fonts-dejavu-core), with its text beside it (NAME.txt).

    python3 scripts/make-language-pages.py            # writes the pages
    python3 scripts/make-language-pages.py --check    # fails if a page would differ
"""
import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "languages"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

PAGES = {
    "fra": """Centre hospitalier de Québec
Lettre de sortie
Patient : Seán Ó Súilleabháin, né le 12 mars 1961
Madame, Monsieur,
Votre patient a été hospitalisé du 3 au 9 novembre pour une
pneumonie communautaire. Il a reçu un traitement antibiotique
par voie intraveineuse, puis par voie orale. L'évolution a été
favorable et la fièvre a disparu après quarante-huit heures.
À la sortie, nous recommandons de poursuivre l'amoxicilline
pendant cinq jours et de prévoir une radiographie de contrôle
dans six semaines. Le patient doit consulter son médecin traitant
si la toux ou l'essoufflement réapparaissent.
Veuillez agréer nos salutations les plus distinguées.
Docteure Hélène Lefèvre, service de médecine interne""",
    "spa": """Hospital Universitario de Sevilla
Informe de alta
Paciente: Seán Ó Súilleabháin, nacido el 12 de marzo de 1961
Estimado colega:
El paciente ingresó el día 3 de noviembre por una neumonía
adquirida en la comunidad. Recibió tratamiento antibiótico por
vía intravenosa y después por vía oral. La evolución fue
favorable y la fiebre desapareció después de dos días.
Al alta recomendamos continuar con amoxicilina durante cinco
días y realizar una radiografía de control en seis semanas.
El paciente debe acudir a su médico de cabecera si la tos o la
dificultad para respirar aparecen de nuevo. ¿Tiene alergias?
No se conocen. Atentamente, la doctora María José Núñez Peña""",
    "gle": """Ospidéal na hOllscoile, Gaillimh
Litir scaoilte
Othar: Seán Ó Súilleabháin, a rugadh ar an 12 Márta 1961
A dhochtúir, a chara,
Bhí an t-othar san ospidéal ón tríú lá go dtí an naoú lá de
mhí na Samhna le niúmóine. Fuair sé cóireáil le frithbheathaigh
trí fhéith ar dtús agus ansin trí bhéal. Tháinig feabhas air
agus d'imigh an fiabhras tar éis dhá lá.
Molaimid go leanfadh sé ar aghaidh leis an amocsaicillin ar feadh
cúig lá agus go ndéanfaí x-gha eile i gceann sé seachtaine.
Ba chóir dó dul chuig a dhochtúir teaghlaigh má thagann an
casacht ar ais. Is mise le meas, an Dochtúir Máire Ní Bhriain""",
    "eng": """University Hospital Galway
Discharge letter
Patient: Seán Ó Súilleabháin, born 12 March 1961
Dear Doctor,
Your patient was admitted from the 3rd to the 9th of November
with community acquired pneumonia. He was treated with
intravenous and then oral antibiotics. He improved steadily
and the fever settled after two days.
On discharge we recommend that he continues amoxicillin for
five more days and has a repeat chest x-ray in six weeks.
He should see his general practitioner if the cough or the
shortness of breath returns. Yours sincerely,
Dr Siobhán Ní Bhriain, consultant physician""",
}


def draw(text: str) -> bytes:
    dpi = 200
    w, h = int(8.27 * dpi), int(11.69 * dpi)
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 30)
    y = 160
    for line in text.splitlines():
        d.text((150, y), line, fill=20, font=font)
        y += 56
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def main() -> int:
    check = "--check" in sys.argv
    OUT.mkdir(parents=True, exist_ok=True)
    bad = 0
    for name, text in PAGES.items():
        png, txt = draw(text), text + "\n"
        for path, data in ((OUT / f"{name}.png", png), (OUT / f"{name}.txt", txt.encode())):
            if check:
                if not path.exists() or path.read_bytes() != data:
                    print(f"{path} differs from what the script makes", file=sys.stderr)
                    bad += 1
            else:
                path.write_bytes(data)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
