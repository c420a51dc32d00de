#!/usr/bin/env python3
"""Makes tests/corpus/languages/more: sixteen pages of medical documents in French,
Spanish, Irish and English (lab reports with tables, referrals, prescriptions, discharge
letters; four at 300 dpi, the rest at 200 dpi), drawn in DejaVu Sans (Debian's
fonts-dejavu-core). They were written blind to the language detector, to measure it.

    python3 scripts/make-more-language-pages.py

Each page NAME is written as NAME.png (8-bit grey, mode 'L') and NAME.txt (UTF-8,
one line per drawn text line, in reading order; table cells joined by one space).
All people, institutions and numbers are fictional.
"""
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFont

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "languages", "more"
)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_B = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
if not os.path.exists(FONT_B):
    FONT_B = FONT

SIZES = {200: (1654, 2338), 300: (2480, 3508)}


def lh(name, addr, phone):
    return ("lh", name, addr, phone)


def T(text):
    return ("title", text)


def H(text):
    return ("h", text)


def L(*texts):
    return [("l", t) for t in texts]


def P(text):
    return ("p", text)


def G(n=0.6):
    return ("gap", n)


def TAB(header, rows, colx):
    return ("table", header, rows, colx)


def SIG(*texts):
    return ("sig",) + texts


def flat(items):
    out = []
    for it in items:
        if isinstance(it, list):
            out.extend(it)
        else:
            out.append(it)
    return out


# ---------------------------------------------------------------------------
# Page contents
# ---------------------------------------------------------------------------
PAGES = []

# ----------------------------- French --------------------------------------
PAGES.append(dict(name="fra-lab", dpi=200, size=30, items=flat([
    lh("Centre hospitalier Saint-Laurent",
       "1250, boulevard René-Lévesque Est, Montréal (Québec) H2L 4M1",
       "Tél. : 514 555-0187 · Téléc. : 514 555-0188"),
    T("Rapport de laboratoire — Biochimie et hématologie"),
    G(0.3),
    L("Patiente : Hélène Côté    Née le : 14/03/1967    Dossier : 0048213",
      "Prélèvement : 12/02/2024 08:15    Médecin : Dre Geneviève Bélanger"),
    G(0.6),
    TAB(["Analyse", "Résultat", "Unité", "Valeurs de référence"], [
        ["Hémoglobine", "13,9", "g/dL", "12,0–16,0"],
        ["Leucocytes", "7,2", "G/L", "4,0–11,0"],
        ["Plaquettes", "245", "G/L", "150–400"],
        ["Hématocrite", "0,41", "L/L", "0,36–0,46"],
        ["Glucose à jeun", "5,4", "mmol/L", "3,6–6,0"],
        ["Créatinine", "78", "µmol/L", "50–90"],
        ["Urée", "5,1", "mmol/L", "2,5–7,5"],
        ["Sodium", "139", "mmol/L", "135–145"],
        ["Potassium", "4,3", "mmol/L", "3,5–5,0"],
        ["Cholestérol total", "5,8", "mmol/L", "< 5,2"],
        ["Triglycérides", "1,9", "mmol/L", "< 1,7"],
        ["Protéine C réactive", "3", "mg/L", "< 5"],
        ["TSH", "2,1", "mUI/L", "0,35–5,00"],
    ], [0, 560, 790, 1010]),
    G(0.8),
    P("Commentaire : légère élévation du cholestérol total et des triglycérides. "
      "Il est suggéré de refaire un bilan lipidique à jeun dans trois mois et de "
      "réévaluer l’hygiène de vie. Aucune autre anomalie significative n’a été relevée."),
    SIG("Validé par : Dr Marc-André Lévesque, biochimiste clinique"),
])))

PAGES.append(dict(name="fra-referral", dpi=200, size=32, items=flat([
    lh("Cabinet médical des Tilleuls",
       "8, rue des Écoles, 69003 Lyon",
       "Tél. : 04 72 55 01 36"),
    L("Lyon, le 5 mars 2024"),
    G(0.5),
    L("Docteur Élodie Marchand",
      "Service de rhumatologie, Hôpital Édouard-Herriot"),
    G(0.5),
    P("Objet : demande d’avis spécialisé pour M. François Lefèvre, né le 22/09/1959"),
    G(0.4),
    L("Chère Consœur,"),
    G(0.3),
    P("Je vous adresse M. François Lefèvre, 64 ans, ancien menuisier, qui présente "
      "depuis environ quatre mois des douleurs articulaires inflammatoires des poignets "
      "et des métacarpo-phalangiennes, avec un dérouillage matinal de plus d’une heure."),
    G(0.3),
    P("Le bilan biologique de février montre une vitesse de sédimentation à 38 mm, "
      "une CRP à 24 mg/L et des anticorps anti-CCP positifs. Les radiographies des "
      "mains ne retrouvent pas d’érosion à ce stade."),
    G(0.3),
    P("Il est traité par amlodipine 5 mg pour une hypertension artérielle. "
      "L’ibuprofène a été partiellement efficace mais mal toléré sur le plan digestif."),
    G(0.3),
    P("Je vous serais reconnaissant de bien vouloir le recevoir afin de confirmer le "
      "diagnostic de polyarthrite rhumatoïde et de discuter d’un traitement de fond."),
    G(0.3),
    P("Je vous prie d’agréer, chère Consœur, l’expression de mes sentiments confraternels."),
    SIG("Dr Thierry Gaudin, médecine générale"),
])))

PAGES.append(dict(name="fra-rx", dpi=200, size=36, items=flat([
    lh("Dre Anaïs Péron — Médecin généraliste",
       "14, avenue Jean-Jaurès, 31000 Toulouse",
       "Tél. : 05 61 55 02 47"),
    T("ORDONNANCE"),
    G(0.3),
    L("Toulouse, le 18 janvier 2024",
      "Mme Léa Bérenger, 34 ans, 61 kg"),
    G(0.6),
    P("1. Amoxicilline 1 g : un comprimé matin et soir pendant 7 jours."),
    P("2. Paracétamol 1 g : un comprimé toutes les 6 heures si fièvre, sans dépasser 4 g par jour."),
    P("3. Sérum physiologique : lavages de nez trois fois par jour."),
    G(0.5),
    L("Renouvellement : non."),
    P("Consulter à nouveau en l’absence d’amélioration sous 72 heures."),
    SIG("Dre Anaïs Péron"),
])))

PAGES.append(dict(name="fra-discharge", dpi=300, size=30, items=flat([
    lh("Hôpital régional du Saguenay-Nord",
       "305, rue Saint-Vallier, Saguenay (Québec) G7H 5H6",
       "Tél. : 418 555-0142"),
    T("Résumé de départ"),
    G(0.3),
    L("Patient : Jérôme Tremblay    Né le : 02/11/1951    Dossier : 2290417",
      "Admission : 03/01/2024    Congé : 11/01/2024",
      "Unité : médecine interne, 4e étage"),
    G(0.4),
    H("Motif d’admission"),
    P("Dyspnée progressive depuis une semaine, œdème des membres inférieurs et prise "
      "de poids de 4 kg."),
    G(0.4),
    H("Antécédents"),
    P("Cardiopathie ischémique avec pontage aortocoronarien en 2015, diabète de type 2, "
      "insuffisance rénale chronique de stade 3a, fibrillation auriculaire paroxystique."),
    G(0.4),
    H("Évolution pendant le séjour"),
    P("Le diagnostic d’insuffisance cardiaque décompensée a été retenu. "
      "L’échocardiographie a montré une fraction d’éjection de 35 %. Le patient a reçu "
      "du furosémide intraveineux avec une bonne réponse diurétique et une perte de 5 kg. "
      "La fonction rénale est restée stable. Aucune arythmie n’a été notée à la télémétrie."),
    G(0.4),
    H("Médicaments au congé"),
    L("Furosémide 40 mg par voie orale, une fois par jour le matin",
      "Bisoprolol 5 mg, une fois par jour",
      "Apixaban 5 mg, deux fois par jour",
      "Metformine 500 mg, deux fois par jour aux repas",
      "Sacubitril-valsartan 24/26 mg, deux fois par jour"),
    G(0.4),
    H("Suivi"),
    P("Pesée quotidienne ; consulter si gain de plus de 2 kg en trois jours. "
      "Rendez-vous à la clinique d’insuffisance cardiaque dans deux semaines. "
      "Électrolytes et créatinine à contrôler dans une semaine."),
    SIG("Dre Émilie Gagnon, interniste"),
])))

# ----------------------------- Spanish -------------------------------------
PAGES.append(dict(name="spa-lab", dpi=300, size=28, items=flat([
    lh("Hospital General Virgen de la Peña",
       "Avenida de la Constitución, 112, 41004 Sevilla",
       "Tel.: 954 55 03 21"),
    T("Informe de laboratorio — Análisis clínicos"),
    G(0.3),
    L("Paciente: José Núñez Iglesias    Fecha de nacimiento: 17/05/1972",
      "NHC: 556210    Extracción: 08/02/2024    Solicitante: Dra. María Jesús Ortiz"),
    G(0.6),
    TAB(["Prueba", "Resultado", "Unidades", "Intervalo de referencia"], [
        ["Hemoglobina", "15,2", "g/dL", "13,0–17,0"],
        ["Leucocitos", "6,8", "x10³/µL", "4,0–10,0"],
        ["Plaquetas", "212", "x10³/µL", "150–400"],
        ["Glucosa", "118", "mg/dL", "70–110"],
        ["Hemoglobina glicada (HbA1c)", "6,9", "%", "4,0–5,6"],
        ["Creatinina", "1,02", "mg/dL", "0,70–1,20"],
        ["Ácido úrico", "7,4", "mg/dL", "3,5–7,2"],
        ["Colesterol LDL", "132", "mg/dL", "< 116"],
        ["Alanina aminotransferasa", "38", "U/L", "7–45"],
        ["Bilirrubina total", "0,8", "mg/dL", "0,3–1,2"],
        ["Sodio", "141", "mmol/L", "136–145"],
        ["Potasio", "4,6", "mmol/L", "3,5–5,1"],
    ], [0, 560, 780, 1000]),
    G(0.8),
    P("Comentario: hiperglucemia y HbA1c elevada, compatibles con diabetes mellitus "
      "con mal control metabólico. Se recomienda valoración por su médico de atención "
      "primaria y nuevo control analítico en tres meses."),
    SIG("Validado por: Dr. Andrés Peña Gutiérrez, Análisis Clínicos"),
])))

PAGES.append(dict(name="spa-referral", dpi=200, size=30, items=flat([
    lh("Clínica Médica Santa Lucía",
       "Calle Benito Juárez 45, Col. Centro, 68000 Oaxaca, Oax.",
       "Tel.: 951 555 0173"),
    L("Oaxaca de Juárez, a 12 de marzo de 2024"),
    G(0.5),
    L("Dra. Begoña Echeverría Muñoz",
      "Servicio de Neurología, Hospital Regional de Especialidades"),
    G(0.5),
    L("Asunto: derivación de la paciente Lucía Ramírez Cañete, 45 años"),
    G(0.4),
    L("Estimada colega:"),
    G(0.3),
    P("Le remito a la paciente Lucía Ramírez Cañete, maestra de primaria, quien acude "
      "por cefalea pulsátil de predominio hemicraneal izquierdo, acompañada de náuseas "
      "y fotofobia, con cuatro a seis episodios al mes durante el último año."),
    G(0.3),
    P("En las últimas seis semanas refiere además episodios breves de visión borrosa y "
      "hormigueo en la mano derecha que preceden al dolor. La exploración neurológica en "
      "mi consulta fue normal. La tensión arterial es de 128/82 mmHg."),
    G(0.3),
    P("Ha recibido naproxeno y sumatriptán con respuesta parcial. No tiene antecedentes "
      "de traumatismo craneal. Su madre padecía migraña."),
    G(0.3),
    P("Le agradecería su valoración para descartar otras causas y considerar un estudio "
      "de imagen y la indicación de tratamiento preventivo."),
    G(0.3),
    L("Sin otro particular, reciba un cordial saludo."),
    SIG("Dr. Ignacio Hernández Peñaloza, Medicina Familiar"),
])))

PAGES.append(dict(name="spa-rx", dpi=200, size=34, items=flat([
    lh("Centro de Salud Los Álamos",
       "Plaza de España, 3, 28013 Madrid",
       "Tel.: 91 555 04 82"),
    T("RECETA MÉDICA"),
    G(0.3),
    L("Fecha: 22 de enero de 2024",
      "Paciente: Ramón Gómez Díaz    Edad: 67 años"),
    G(0.6),
    P("1. Omeprazol 20 mg: una cápsula en ayunas durante 4 semanas."),
    P("2. Ibuprofeno 600 mg: un comprimido cada 8 horas con alimentos, máximo 5 días."),
    P("3. Diazepam 5 mg: medio comprimido por la noche si no puede dormir."),
    G(0.5),
    L("Evitar el alcohol durante el tratamiento.",
      "Acudir a revisión dentro de un mes."),
    SIG("Dra. Inés Castaño Vidal — Nº colegiado 28/123456"),
])))

PAGES.append(dict(name="spa-discharge", dpi=200, size=28, items=flat([
    lh("Hospital Clínico Universitario de Levante",
       "Calle del Doctor Fleming, 7, 46010 Valencia",
       "Tel.: 963 55 01 90"),
    T("INFORME DE ALTA HOSPITALARIA"),
    G(0.3),
    L("Paciente: Rocío Fernández Sáez    NHC: 1204587    Edad: 58 años",
      "Servicio: Cirugía General y del Aparato Digestivo",
      "Fecha de ingreso: 14/02/2024    Fecha de alta: 19/02/2024"),
    G(0.4),
    H("Motivo de ingreso"),
    P("Dolor abdominal en hipocondrio derecho de 48 horas de evolución, acompañado de "
      "fiebre de 38,5 °C y vómitos."),
    G(0.4),
    H("Antecedentes personales"),
    P("Hipotiroidismo en tratamiento con levotiroxina. Obesidad grado I. Sin alergias "
      "medicamentosas conocidas."),
    G(0.4),
    H("Exploración y pruebas complementarias"),
    P("Signo de Murphy positivo. Leucocitosis de 14 800/µL con neutrofilia. La ecografía "
      "abdominal mostró una vesícula distendida, de pared engrosada, con múltiples cálculos."),
    G(0.4),
    H("Evolución"),
    P("Con el diagnóstico de colecistitis aguda litiásica se realizó colecistectomía "
      "laparoscópica el día 15, sin complicaciones. La paciente toleró la dieta oral al "
      "segundo día y la evolución postoperatoria fue favorable, con la herida quirúrgica "
      "en buen estado."),
    G(0.4),
    H("Diagnóstico principal"),
    L("Colecistitis aguda litiásica."),
    G(0.4),
    H("Tratamiento al alta"),
    L("Paracetamol 1 g cada 8 horas si dolor.",
      "Enoxaparina 40 mg subcutánea cada 24 horas durante 10 días.",
      "Levotiroxina 100 µg en ayunas, sin cambios."),
    G(0.4),
    H("Recomendaciones"),
    P("Dieta baja en grasas durante un mes. Retirada de grapas en su centro de salud a "
      "los 10 días. Acudir a Urgencias si presenta fiebre, ictericia o dolor intenso."),
    SIG("Dr. Álvaro Jiménez Ruiz, Facultativo Especialista de Área"),
])))

# ----------------------------- Irish ---------------------------------------
PAGES.append(dict(name="gle-appt", dpi=200, size=34, items=flat([
    lh("Ospidéal Pobail Ghaoth Dobhair",
       "Doirí Beaga, Leitir Ceanainn, Co. Dhún na nGall",
       "Teil: 074 955 0128"),
    L("Dáta: 14 Márta 2024"),
    G(0.5),
    L("Seán Ó Briain",
      "Machaire Chlochair, Bun Beag, Co. Dhún na nGall"),
    G(0.5),
    L("A Sheáin, a chara,"),
    G(0.3),
    P("Tá coinne socraithe duit sa Chlinic Cairdeolaíochta."),
    G(0.3),
    L("Dáta na coinne: Dé Máirt, 2 Aibreán 2024",
      "Am: 10:30 r.n.",
      "Áit: Bloc B, an dara hurlár, Seomra 12"),
    G(0.4),
    P("Tabhair leat, le do thoil, liosta de na cógais go léir atá á nglacadh agat."),
    P("Ná hith aon rud tar éis a hocht a chlog an oíche roimh an gcoinne, mar "
      "déanfar tástáil fola ort."),
    P("Más mian leat an choinne a athrú, glaoigh ar an uimhir thuas."),
    G(0.3),
    L("Is mise le meas,"),
    SIG("Máire Nic Giolla Phádraig, Oifig na gCoinní"),
])))

PAGES.append(dict(name="gle-discharge", dpi=200, size=30, items=flat([
    lh("Ospidéal Naomh Bríd",
       "Bóthar na Trá, Gaillimh H91 R2C4",
       "Teil: 091 555 0143"),
    T("Litir Scaoilte"),
    G(0.3),
    L("Othar: Aoife Ní Bhriain    Dáta breithe: 03/07/1958",
      "Dáta iontrála: 02/02/2024    Dáta scaoilte: 09/02/2024",
      "Chuig: An Dr. Pádraig Ó Súilleabháin, Ionad Sláinte an Spidéil"),
    G(0.5),
    L("A Dhochtúir, a chara,"),
    G(0.3),
    P("Tugadh Aoife Ní Bhriain isteach san ospidéal le fiabhras, casacht agus giorra "
      "anála. Léirigh an X-gha cliabhraigh niúmóine sa scamhóg dheas."),
    G(0.3),
    P("Tugadh antaibheathaigh infhéitheacha di ar feadh cúig lá agus ansin "
      "antaibheathaigh ó bhéal. Tháinig feabhas maith ar a hanáil agus d’imigh an "
      "fiabhras. Bhí a teocht normálta ar feadh 48 uair an chloig sular scaoileadh "
      "abhaile í."),
    G(0.4),
    H("Cógais"),
    L("Amocsaicillin 500 mg, trí huaire sa lá ar feadh seacht lá eile",
      "Paraicéiteamól 1 g, suas le ceithre huaire sa lá más gá"),
    G(0.4),
    P("Iarraim ort X-gha cliabhraigh eile a shocrú di i gceann sé seachtaine chun a "
      "chinntiú go bhfuil an niúmóine glanta."),
    G(0.3),
    L("Is mise, le meas,"),
    SIG("An Dr. Ciarán Mac Aodha, Lia Comhairleach"),
])))

PAGES.append(dict(name="gle-note", dpi=200, size=38, items=flat([
    lh("Ionad Sláinte na Ceathrún Rua",
       "An Cheathrú Rua, Co. na Gaillimhe",
       "Teil: 091 555 0190"),
    T("Nóta Dochtúra"),
    G(0.3),
    L("Dáta: 21 Eanáir 2024"),
    G(0.4),
    P("Deimhním gur scrúdaigh mé Niamh Ní Chonaill inniu."),
    P("Tá an fliú uirthi agus ní bheidh sí in ann freastal ar a cuid oibre go dtí "
      "Dé Luain, 29 Eanáir 2024."),
    P("Ba cheart di fanacht sa bhaile agus a scíth a ligean."),
    SIG("An Dr. Éamonn Ó Dónaill"),
])))

PAGES.append(dict(name="gle-letter", dpi=300, size=30, items=flat([
    lh("Ionad Sláinte Bhaile an Fheirtéaraigh",
       "An Príomhbhóthar, Baile an Fheirtéaraigh, Co. Chiarraí",
       "Teil: 066 915 5012"),
    L("15 Feabhra 2024"),
    G(0.5),
    L("An Dr. Gráinne Ní Mhurchú",
      "Lia Comhairleach Inchríneolaíochta",
      "Ospidéal Ollscoile Chiarraí, Trá Lí"),
    G(0.5),
    L("Maidir le: Tomás Ó Conchúir, dáta breithe 11/06/1956"),
    G(0.4),
    L("A Dhochtúir, a chara,"),
    G(0.3),
    P("Ba mhaith liom Tomás Ó Conchúir a atreorú chugat le haghaidh measúnaithe. "
      "Is feirmeoir é Tomás atá 67 bliain d’aois, agus tá diaibéiteas de chineál 2 air "
      "le deich mbliana anuas."),
    G(0.3),
    P("Le sé mhí anuas, d’ardaigh a HbA1c ó 58 go 74 mmol/mol, in ainneoin metformin "
      "1 g faoi dhó sa lá agus gliclazide 80 mg ar maidin. Deir sé go bhfuil sé níos "
      "tuirsí ná mar a bhíodh, agus go mbíonn tart air go minic."),
    G(0.3),
    P("Thug mé faoi deara freisin go bhfuil feidhm na nduán ag meath beagán; is é "
      "52 mL/min a eGFR faoi láthair. Tá a bhrú fola 146/88 mmHg ar ramipril 5 mg. "
      "Bhí scrúdú na súl normálta i mí na Samhna."),
    G(0.3),
    P("Caitheann sé toitíní, timpeall deich gcinn sa lá, agus tá sé sásta cabhair a "
      "fháil chun éirí astu. Tá sé ina chónaí lena bhean chéile, atá an-tacúil."),
    G(0.3),
    P("Bheinn buíoch díot dá bhféadfá é a fheiceáil sa chlinic diaibéitis chun a "
      "chóireáil a athbhreithniú, go háirithe maidir le hinslin a thosú."),
    G(0.3),
    P("Má tá aon eolas breise uait, ná bíodh leisce ort glaoch orm."),
    G(0.3),
    L("Is mise, le meas,"),
    SIG("An Dr. Seosamh Mac Gearailt, Gnáthdhochtúir"),
])))

# ----------------------------- English -------------------------------------
PAGES.append(dict(name="eng-lab", dpi=200, size=30, items=flat([
    lh("St Brendan’s General Hospital",
       "42 Harbour Road, Portsmouth PO3 5RT",
       "Tel: 023 9555 0164"),
    T("Laboratory Report — Haematology and Biochemistry"),
    G(0.3),
    L("Patient: Zoë Whitfield    DOB: 09/08/1985    MRN: 7741902",
      "Collected: 11/03/2024 09:40    Requested by: Dr Rajesh Menon"),
    G(0.6),
    TAB(["Test", "Result", "Units", "Reference range"], [
        ["Haemoglobin", "118", "g/L", "120–150"],
        ["White cell count", "9.4", "10^9/L", "4.0–11.0"],
        ["Platelets", "388", "10^9/L", "150–400"],
        ["Mean cell volume", "74", "fL", "80–100"],
        ["Ferritin", "8", "µg/L", "15–150"],
        ["Sodium", "137", "mmol/L", "133–146"],
        ["Potassium", "4.1", "mmol/L", "3.5–5.3"],
        ["Urea", "4.8", "mmol/L", "2.5–7.8"],
        ["Creatinine", "64", "µmol/L", "45–84"],
        ["ALT", "22", "U/L", "0–33"],
        ["Vitamin B12", "310", "ng/L", "197–771"],
        ["Folate", "6.2", "µg/L", "3.9–26.8"],
    ], [0, 560, 790, 1010]),
    G(0.8),
    P("Comment: microcytic anaemia with low ferritin, consistent with iron deficiency. "
      "Suggest review of dietary intake and consideration of gastrointestinal or "
      "gynaecological blood loss."),
    SIG("Authorised by: Dr Fiona McKenzie, Consultant Haematologist"),
])))

PAGES.append(dict(name="eng-referral", dpi=300, size=32, items=flat([
    lh("Riverside Medical Practice",
       "17 Mill Lane, Cambridge CB2 1RX",
       "Tel: 01223 555 019"),
    L("14 February 2024"),
    G(0.5),
    L("Dr Siobhán O’Reilly",
      "Department of Gastroenterology, Fenland University Hospital"),
    G(0.5),
    L("Re: Mr Thomas Hargreaves, DOB 30/04/1962"),
    G(0.4),
    L("Dear Dr O’Reilly,"),
    G(0.3),
    P("Thank you for seeing Mr Hargreaves, a 61-year-old retired postman, who presents "
      "with a three-month history of change in bowel habit, with looser stools and "
      "intermittent dark blood mixed with the stool."),
    G(0.3),
    P("He reports unintentional weight loss of around 5 kg and increasing fatigue. "
      "On examination his abdomen was soft and non-tender, with no palpable masses."),
    G(0.3),
    P("Recent blood tests showed a haemoglobin of 109 g/L and a ferritin of 11 µg/L. "
      "His faecal immunochemical test was positive."),
    G(0.3),
    P("His past history includes type 2 diabetes, managed with metformin, and a right "
      "knee replacement in 2019. There is no family history of bowel cancer."),
    G(0.3),
    P("I would be grateful if you could see him urgently for further investigation."),
    G(0.3),
    L("Yours sincerely,"),
    SIG("Dr Amelia Brooks, General Practitioner"),
])))

PAGES.append(dict(name="eng-rx", dpi=200, size=36, items=flat([
    lh("Greenway Family Clinic",
       "220 Elm Street, Burlington, VT 05401",
       "Phone: (802) 555-0139"),
    T("PRESCRIPTION"),
    G(0.3),
    L("Date: March 4, 2024",
      "Patient: Noah Delgado    DOB: 06/12/1990"),
    G(0.6),
    L("Rx: Azithromycin 250 mg tablets"),
    P("Sig: Take 2 tablets on day 1, then 1 tablet daily on days 2 to 5."),
    L("Dispense: 6 tablets    Refills: 0"),
    G(0.5),
    L("Rx: Benzonatate 100 mg capsules"),
    P("Sig: Take 1 capsule three times daily as needed for cough."),
    L("Dispense: 21 capsules    Refills: 0"),
    SIG("Karen O’Donnell, MD"),
])))

PAGES.append(dict(name="eng-discharge", dpi=200, size=28, items=flat([
    lh("Northgate Royal Infirmary",
       "Queen’s Drive, Leeds LS7 4QN",
       "Tel: 0113 555 0172"),
    T("DISCHARGE SUMMARY"),
    G(0.3),
    L("Patient: Margaret Ellison    DOB: 21/01/1944    Hospital No.: R0938271",
      "Ward: Elderly Care, Ward 23    Admitted: 05/02/2024    Discharged: 16/02/2024",
      "Consultant: Dr Kwame Asante"),
    G(0.4),
    H("Presenting complaint"),
    P("Found on the floor at home by her daughter after an unwitnessed fall, with new "
      "confusion and reduced oral intake over three days."),
    G(0.4),
    H("Diagnoses"),
    L("1. Urinary tract infection with delirium",
      "2. Acute kidney injury, stage 1, resolved",
      "3. Mechanical fall, no fracture on imaging"),
    G(0.4),
    H("Hospital course"),
    P("Mrs Ellison was treated with intravenous fluids and oral nitrofurantoin guided by "
      "urine culture sensitivities. Her confusion improved steadily and had resolved by "
      "day six. Creatinine peaked at 142 µmol/L and returned to her baseline of 88 µmol/L. "
      "A CT head on admission showed no acute abnormality. She was assessed by "
      "physiotherapy and occupational therapy and is now mobilising independently with "
      "a wheeled frame."),
    G(0.4),
    H("Medication changes"),
    L("Stopped: ramipril 5 mg (restart if blood pressure above 150/90)",
      "Started: colecalciferol 800 units daily",
      "Continued: amlodipine 5 mg daily, atorvastatin 20 mg at night"),
    G(0.4),
    H("Follow-up"),
    P("GP to repeat renal function in one week. Falls clinic appointment to be sent by "
      "post. Care package of two visits daily arranged with social services."),
    SIG("Dr Hannah Price, for Dr Kwame Asante"),
])))


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------
def wrap(draw, text, font, width):
    words = text.split(" ")
    lines, cur = [], ""
    for w in words:
        cand = w if not cur else cur + " " + w
        if draw.textlength(cand, font=font) <= width:
            cur = cand
        else:
            if cur:
                lines.append(cur)
            cur = w
    if cur:
        lines.append(cur)
    return lines


def render(page, rng):
    dpi = page["dpi"]
    s = dpi / 200.0
    W, Hh = SIZES[dpi]
    bg = rng.randint(235, 245)
    fg = rng.randint(20, 40)
    size = int(round(page["size"] * s))
    f = ImageFont.truetype(FONT, size)
    fb = ImageFont.truetype(FONT_B, size)
    f_title = ImageFont.truetype(FONT_B, int(round(size * 1.15)))
    f_lh = ImageFont.truetype(FONT_B, int(round(size * 1.3)))
    left = int(round(150 * s))
    right = W - int(round(130 * s))
    width = right - left
    lsp = int(round(size * 1.5))

    img = Image.new("L", (W, Hh), bg)
    d = ImageDraw.Draw(img)
    out = []
    y = int(round(140 * s))

    def put(text, font, x=left, adv=None):
        nonlocal y
        tw = d.textlength(text, font=font)
        if x + tw > right + 1:
            sys.exit(f"{page['name']}: line too wide ({x + tw:.0f} > {right}): {text!r}")
        d.text((x, y), text, font=font, fill=fg)
        out.append(text)
        y += adv if adv is not None else int(round(font.size * 1.5))

    for it in page["items"]:
        kind = it[0]
        if kind == "lh":
            put(it[1], f_lh)
            put(it[2], f, adv=int(round(size * 1.35)))
            put(it[3], f, adv=int(round(size * 1.45)))
            d.line([(left, y), (right, y)], fill=fg, width=max(2, int(round(2 * s))))
            y += int(round(size * 1.3))
        elif kind == "title":
            put(it[1], f_title)
        elif kind == "h":
            put(it[1], fb)
        elif kind == "l":
            put(it[1], f)
        elif kind == "p":
            for ln in wrap(d, it[1], f, width):
                put(ln, f)
        elif kind == "gap":
            y += int(round(lsp * it[1]))
        elif kind == "table":
            header, rows, colx = it[1], it[2], [left + int(round(c * s)) for c in it[3]]
            for ri, row in enumerate([header] + rows):
                font = fb if ri == 0 else f
                for ci, cell in enumerate(row):
                    x = colx[ci]
                    tw = d.textlength(cell, font=font)
                    lim = colx[ci + 1] - int(round(20 * s)) if ci + 1 < len(colx) else right
                    if x + tw > lim:
                        sys.exit(f"{page['name']}: cell overflow {cell!r}")
                    d.text((x, y), cell, font=font, fill=fg)
                out.append(" ".join(row))
                y += lsp
                if ri == 0:
                    d.line([(left, y - int(lsp * 0.2)), (right, y - int(lsp * 0.2))],
                           fill=fg, width=max(1, int(round(1.5 * s))))
                    y += int(lsp * 0.1)
        elif kind == "sig":
            y += int(round(lsp * 1.6))
            d.line([(left, y), (left + int(round(520 * s)), y)], fill=fg,
                   width=max(2, int(round(2 * s))))
            y += int(round(size * 0.5))
            for t in it[1:]:
                put(t, f)
        else:
            raise ValueError(kind)
        if y > Hh - int(round(120 * s)):
            sys.exit(f"{page['name']}: page overflow at y={y}")

    img.save(os.path.join(OUT, page["name"] + ".png"), dpi=(dpi, dpi))
    with open(os.path.join(OUT, page["name"] + ".txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
    return len(out), y


def main():
    rng = random.Random(20240314)
    for page in PAGES:
        n, y = render(page, rng)
        print(f"{page['name']:15s} dpi={page['dpi']} lines={n:3d} bottom_y={y}")


if __name__ == "__main__":
    main()
