"""Hand-written language material for the sample corpus.

Small on purpose: English seed vocabularies per IAB tier-1 category (the tier-2/3 words come from
the taxonomy labels), a bilingual lexicon for the common words (es, fr, de, pt), and per-language
templates for titles, descriptions and pages. Words missing from the lexicon stay English, as loan
words do on real pins. Weights are Pinterest-like shares of tier-1 categories; tier-1 categories
not listed (Sensitive Topics, Crime, Politics ...) get no pins.
"""

from __future__ import annotations

__all__ = [
    "EMOJIS",
    "LANGS",
    "LEXICON",
    "NOISE",
    "PAGE_INTROS",
    "SEASONS",
    "SENTENCES",
    "STOPWORDS",
    "TIER1",
    "TITLE_TEMPLATES",
    "Tier1Seed",
]

from dataclasses import dataclass

LANGS: tuple[str, ...] = ("en", "es", "fr", "de", "pt")


@dataclass(frozen=True)
class Tier1Seed:
    weight: float
    nouns: tuple[str, ...]
    adjs: tuple[str, ...]
    mods: tuple[str, ...]
    site_words: tuple[str, ...]


def _t(weight: float, nouns: str, adjs: str, mods: str, site: str) -> Tier1Seed:
    return Tier1Seed(weight, tuple(nouns.split()), tuple(adjs.split()), tuple(mods.split()),
                     tuple(site.split()))


TIER1: dict[str, Tier1Seed] = {
    "Food & Drink": _t(0.13, "dinner lunch breakfast dessert cake cookies bread soup salad pasta "
                       "chicken sauce snacks smoothie cocktails coffee meal recipe",
                       "easy quick healthy homemade vegan delicious simple cozy",
                       "recipes ideas tips", "kitchen table spoon pantry plate"),
    "Home & Garden": _t(0.11, "kitchen bedroom bathroom garden plants flowers decor furniture wall "
                        "shelves lighting rug patio backyard porch curtains",
                        "cozy modern rustic minimalist small vintage diy beautiful",
                        "ideas decor inspiration projects", "home nest house cottage garden"),
    "Style & Fashion": _t(0.11, "dress outfits shoes hair makeup nails skin jewelry bag jeans "
                          "sweater jacket boots style fashion look",
                          "cute casual elegant chic vintage classic summer winter",
                          "outfits ideas inspiration trends", "style closet wardrobe chic"),
    "Hobbies & Interests": _t(0.08, "crafts painting drawing knitting yarn sewing pattern beads "
                              "paper wood projects supplies kit tutorial",
                              "easy diy creative beginner handmade colorful simple fun",
                              "ideas projects tutorial tips", "craft maker studio hobby"),
    "Travel": _t(0.06, "beach trip hotels city mountains itinerary island road camping packing "
                 "flights resort views adventure travel",
                 "best cheap beautiful hidden summer winter budget scenic",
                 "guide tips ideas itinerary", "travel wander journey trips"),
    "Healthy Living": _t(0.05, "workout fitness yoga health routine meal stretches habits sleep "
                         "energy body wellness",
                         "healthy easy daily quick natural simple gentle strong",
                         "tips routine plan ideas", "wellness fit health life"),
    "Personal Celebrations & Life Events": _t(0.05, "party wedding birthday gift cake decorations "
                                              "invitations dress flowers favors theme games",
                                              "cute elegant diy simple fun rustic boho budget",
                                              "ideas decor inspiration themes", "party celebrate "
                                              "events day"),
    "Family and Relationships": _t(0.04, "kids baby family parenting activities routine toddler "
                                   "crafts games chores love advice",
                                   "easy fun simple positive gentle quick creative",
                                   "ideas tips activities advice", "family mom kids nest"),
    "Fine Art": _t(0.04, "art painting sculpture gallery drawing portrait canvas sketch "
                   "watercolor design photography artist",
                   "modern abstract contemporary beautiful colorful classic minimalist",
                   "inspiration ideas prints techniques", "art gallery studio canvas"),
    "Pets": _t(0.04, "dog cats puppy kitten pets toys food training bed treats grooming "
               "aquarium",
               "cute funny diy healthy happy small easy",
               "tips ideas training care", "pets paws tails pawsome"),
    "Holidays": _t(0.03, "christmas halloween thanksgiving easter decorations gifts tree "
                   "costume party lights wreath treats",
                   "diy easy cute festive simple rustic spooky",
                   "ideas decor crafts recipes", "holiday festive seasons"),
    "Sports": _t(0.03, "training workout team game drills gear shoes season coach player "
                 "match field",
                 "best beginner advanced quick strong pro",
                 "tips drills training guide", "sports athlete game score"),
    "Entertainment": _t(0.02, "movies music songs playlist series shows actors concert album "
                        "soundtrack quotes",
                        "best classic new funny favorite iconic",
                        "list ideas quotes playlist", "screen stage pop buzz"),
    "Books and Literature": _t(0.02, "books novels reading poems authors library quotes "
                               "bookshelf stories covers",
                               "best classic cozy new favorite must-read",
                               "list recommendations quotes ideas", "books pages reader shelf"),
    "Education": _t(0.02, "school learning classroom students teacher lessons worksheets study "
                    "notes activities homework",
                    "easy fun free printable simple creative",
                    "ideas tips activities printables", "learn school class academy"),
    "Technology & Computing": _t(0.02, "tech gadgets apps software laptop phone setup desk "
                                 "code computer tools",
                                 "best new smart simple cheap useful",
                                 "tips hacks guide setup", "tech geek byte digital"),
    "Automotive": _t(0.02, "cars car truck engine wheels interior road garage parts tires "
                     "restoration",
                     "classic fast vintage custom new luxury",
                     "ideas tips guide builds", "auto motor garage drive"),
    "Shopping": _t(0.02, "gifts deals toys cards supplies basket bargains haul wishlist "
                   "decorations",
                   "cheap best cute unique budget fun",
                   "ideas list guide finds", "shop deals buy finds"),
    "Attractions": _t(0.02, "park museum tour restaurant attractions zoo aquarium gallery "
                      "theater landmarks",
                      "best hidden fun family famous local",
                      "guide tips ideas list", "visit city explore"),
    "Pop Culture": _t(0.015, "celebrity style red-carpet memes news looks couples home",
                      "iconic funny latest famous best",
                      "news ideas looks moments", "buzz pop celeb"),
    "Video Gaming": _t(0.015, "games gaming console setup characters controller level strategy "
                       "walkthrough",
                       "best new retro cozy epic fun",
                       "tips guide setup ideas", "gamer play level pixel"),
    "Personal Finance": _t(0.01, "money budget savings debt planner investing credit bills "
                           "spreadsheet",
                           "simple easy frugal smart monthly free",
                           "tips plan ideas printables", "money cents wallet"),
    "Business and Finance": _t(0.01, "business marketing brand office startup finance sales "
                               "strategy planner",
                               "small smart simple modern successful",
                               "tips ideas plan strategy", "biz office market"),
    "Careers": _t(0.01, "job resume interview career office skills work",
                  "best simple professional remote modern",
                  "tips advice templates ideas", "career work hire"),
    "Events": _t(0.01, "event conference awards festival tickets stage venue",
                 "best big annual local live",
                 "guide ideas tips list", "events live stage"),
    "Genres": _t(0.01, "movies series stories characters books scenes",
                 "best classic favorite dark cozy",
                 "list ideas recommendations quotes", "genre story screen"),
    "Real Estate": _t(0.01, "house apartment home property rooms floor plan listing",
                      "dream small modern cozy luxury",
                      "ideas tips tour plans", "homes realty estate"),
    "Religion & Spirituality": _t(0.01, "prayer quotes faith meditation spirit journal verses",
                                  "daily peaceful simple inspirational",
                                  "quotes ideas journal tips", "spirit soul faith"),
    "Science": _t(0.01, "science experiments space planets nature facts lab projects",
                  "fun easy cool simple amazing",
                  "experiments facts ideas projects", "science lab discovery"),
    "Medical Health": _t(0.01, "health symptoms remedies care doctor body tips",
                         "natural simple healthy gentle",
                         "tips remedies guide care", "health care clinic"),
}

#: Tokens dropped when taxonomy labels are turned into phrases and words.
STOPWORDS: frozenset[str] = frozenset(
    "and & of the for to in a an with or on at by aged".split())

# en | es | fr | de | pt  ("_" = same as English, "+" = a space inside a translation)
_LEXICON_TABLE = """
ideas|ideas|idées|Ideen|ideias
tips|consejos|astuces|Tipps|dicas
inspiration|inspiración|inspiration|Inspiration|inspiração
guide|guía|guide|Ratgeber|guia
easy|fácil|facile|einfach|fácil
simple|sencillo|simple|schlicht|simples
best|mejores|meilleurs|beste|melhores
cute|lindo|mignon|süß|fofo
modern|moderno|moderne|modern|moderno
cozy|acogedor|cosy|gemütlich|aconchegante
quick|rápido|rapide|schnell|rápido
healthy|saludable|sain|gesund|saudável
beautiful|hermoso|beau|schön|lindo
small|pequeño|petit|klein|pequeno
summer|verano|été|Sommer|verão
winter|invierno|hiver|Winter|inverno
cheap|barato|pas+cher|günstig|barato
creative|creativo|créatif|kreativ|criativo
classic|clásico|classique|klassisch|clássico
rustic|rústico|rustique|rustikal|rústico
elegant|elegante|élégant|elegant|elegante
colorful|colorido|coloré|bunt|colorido
fun|divertido|amusant|lustig|divertido
funny|gracioso|drôle|lustig|engraçado
homemade|casero|maison|hausgemacht|caseiro
natural|natural|naturel|natürlich|natural
delicious|delicioso|délicieux|lecker|delicioso
new|nuevo|nouveau|neu|novo
free|gratis|gratuit|kostenlos|grátis
daily|diario|quotidien|täglich|diário
recipes|recetas|recettes|Rezepte|receitas
recipe|receta|recette|Rezept|receita
dinner|cena|dîner|Abendessen|jantar
lunch|almuerzo|déjeuner|Mittagessen|almoço
breakfast|desayuno|petit-déjeuner|Frühstück|café+da+manhã
dessert|postre|dessert|Nachtisch|sobremesa
cake|pastel|gâteau|Kuchen|bolo
cookies|galletas|biscuits|Kekse|biscoitos
bread|pan|pain|Brot|pão
soup|sopa|soupe|Suppe|sopa
salad|ensalada|salade|Salat|salada
pasta|pasta|pâtes|Nudeln|massa
chicken|pollo|poulet|Hähnchen|frango
sauce|salsa|sauce|Soße|molho
snacks|aperitivos|en+cas|Snacks|petiscos
cocktails|cócteles|cocktails|Cocktails|coquetéis
coffee|café|café|Kaffee|café
meal|comida|repas|Mahlzeit|refeição
vegan|vegano|végétalien|vegan|vegano
vegetarian|vegetariano|végétarien|vegetarisch|vegetariano
kitchen|cocina|cuisine|Küche|cozinha
bedroom|dormitorio|chambre|Schlafzimmer|quarto
bathroom|baño|salle+de+bain|Badezimmer|banheiro
garden|jardín|jardin|Garten|jardim
gardening|jardinería|jardinage|Gartenarbeit|jardinagem
plants|plantas|plantes|Pflanzen|plantas
flowers|flores|fleurs|Blumen|flores
decor|decoración|déco|Deko|decoração
furniture|muebles|meubles|Möbel|móveis
wall|pared|mur|Wand|parede
lighting|iluminación|éclairage|Beleuchtung|iluminação
home|hogar|maison|Zuhause|casa
house|casa|maison|Haus|casa
projects|proyectos|projets|Projekte|projetos
dress|vestido|robe|Kleid|vestido
outfits|outfits|tenues|Outfits|looks
shoes|zapatos|chaussures|Schuhe|sapatos
hair|cabello|cheveux|Haare|cabelo
makeup|maquillaje|maquillage|Make-up|maquiagem
nails|uñas|ongles|Nägel|unhas
skin|piel|peau|Haut|pele
jewelry|joyas|bijoux|Schmuck|joias
bag|bolso|sac|Tasche|bolsa
jeans|vaqueros|jean|Jeans|calça+jeans
sweater|suéter|pull|Pullover|suéter
jacket|chaqueta|veste|Jacke|jaqueta
boots|botas|bottes|Stiefel|botas
style|estilo|style|Stil|estilo
fashion|moda|mode|Mode|moda
look|look|look|Look|look
casual|casual|décontracté|lässig|casual
chic|chic|chic|schick|chique
trends|tendencias|tendances|Trends|tendências
women's|mujer|femme|Damen|feminino
men's|hombre|homme|Herren|masculino
kids|niños|enfants|Kinder|crianças
baby|bebé|bébé|Baby|bebê
family|familia|famille|Familie|família
parenting|crianza|parentalité|Erziehung|criação
activities|actividades|activités|Aktivitäten|atividades
wedding|boda|mariage|Hochzeit|casamento
party|fiesta|fête|Party|festa
birthday|cumpleaños|anniversaire|Geburtstag|aniversário
gift|regalo|cadeau|Geschenk|presente
gifts|regalos|cadeaux|Geschenke|presentes
decorations|decoraciones|décorations|Dekorationen|decorações
invitations|invitaciones|invitations|Einladungen|convites
christmas|navidad|noël|Weihnachten|natal
halloween|halloween|halloween|Halloween|halloween
easter|pascua|pâques|Ostern|páscoa
travel|viajes|voyage|Reisen|viagem
beach|playa|plage|Strand|praia
trip|viaje|voyage|Reise|viagem
hotels|hoteles|hôtels|Hotels|hotéis
city|ciudad|ville|Stadt|cidade
mountains|montañas|montagnes|Berge|montanhas
island|isla|île|Insel|ilha
camping|camping|camping|Camping|acampamento
packing|equipaje|valise|Packliste|mala
adventure|aventura|aventure|Abenteuer|aventura
workout|entrenamiento|entraînement|Training|treino
fitness|fitness|fitness|Fitness|fitness
yoga|yoga|yoga|Yoga|ioga
health|salud|santé|Gesundheit|saúde
routine|rutina|routine|Routine|rotina
sleep|sueño|sommeil|Schlaf|sono
dog|perro|chien|Hund|cachorro
cats|gatos|chats|Katzen|gatos
puppy|cachorro|chiot|Welpe|filhote
kitten|gatito|chaton|Kätzchen|gatinho
pets|mascotas|animaux|Haustiere|pets
toys|juguetes|jouets|Spielzeug|brinquedos
training|entrenamiento|dressage|Training|treinamento
crafts|manualidades|bricolage|Basteln|artesanato
painting|pintura|peinture|Malerei|pintura
drawing|dibujo|dessin|Zeichnen|desenho
knitting|tejido|tricot|Stricken|tricô
sewing|costura|couture|Nähen|costura
pattern|patrón|patron|Muster|molde
paper|papel|papier|Papier|papel
wood|madera|bois|Holz|madeira
photography|fotografía|photographie|Fotografie|fotografia
art|arte|art|Kunst|arte
books|libros|livres|Bücher|livros
reading|lectura|lecture|Lesen|leitura
quotes|frases|citations|Zitate|frases
cars|coches|voitures|Autos|carros
car|coche|voiture|Auto|carro
music|música|musique|Musik|música
movies|películas|films|Filme|filmes
games|juegos|jeux|Spiele|jogos
school|escuela|école|Schule|escola
learning|aprendizaje|apprentissage|Lernen|aprendizagem
money|dinero|argent|Geld|dinheiro
budget|presupuesto|budget|Budget|orçamento
savings|ahorro|économies|Sparen|economia
beginners|principiantes|débutants|Anfänger|iniciantes
beginner|principiante|débutant|Anfänger|iniciante
diy|diy|diy|DIY|diy
vintage|vintage|vintage|Vintage|vintage
minimalist|minimalista|minimaliste|minimalistisch|minimalista
"""


def _parse_lexicon(table: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for row in table.strip().splitlines():
        en, *rest = row.split("|")
        out[en] = {lang: (w if w != "_" else en).replace("+", " ")
                   for lang, w in zip(LANGS[1:], rest)}
    return out


#: English word -> {lang: translation}. Multi-word translations use spaces.
LEXICON: dict[str, dict[str, str]] = _parse_lexicon(_LEXICON_TABLE)

TITLE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": ("{p1}", "{p1} ideas", "{n} {p1} ideas", "easy {p1}", "the best {p1}",
           "{p1} for beginners", "{p1} | {p2}", "{p1} inspiration", "how to make {p1}",
           "my favorite {p1}", "{p1} and {p2}"),
    "es": ("{p1}", "ideas de {p1}", "{n} ideas de {p1}", "{p1} fácil", "los mejores {p1}",
           "{p1} para principiantes", "{p1} | {p2}", "inspiración {p1}", "cómo hacer {p1}",
           "{p1} y {p2}"),
    "fr": ("{p1}", "idées {p1}", "{n} idées de {p1}", "{p1} facile", "les meilleurs {p1}",
           "{p1} pour débutants", "{p1} | {p2}", "inspiration {p1}", "comment faire {p1}",
           "{p1} et {p2}"),
    "de": ("{p1}", "{p1} Ideen", "{n} {p1} Ideen", "einfache {p1}", "die besten {p1}",
           "{p1} für Anfänger", "{p1} | {p2}", "{p1} Inspiration", "so machst du {p1}",
           "{p1} und {p2}"),
    "pt": ("{p1}", "ideias de {p1}", "{n} ideias de {p1}", "{p1} fácil", "os melhores {p1}",
           "{p1} para iniciantes", "{p1} | {p2}", "inspiração {p1}", "como fazer {p1}",
           "{p1} e {p2}"),
}

SENTENCES: dict[str, tuple[str, ...]] = {
    "en": ("Looking for {p}? This is it.", "Save this for your next {p} project.",
           "I love this {p}, perfect with {q}.", "Simple {p} tips you can try this weekend.",
           "Everything you need to know about {p} and {q}.",
           "Click through for the full {p} guide.",
           "This {p} is so easy and it looks amazing.", "Our favorite {p} ideas for {season}.",
           "We tried {p} three ways and this one won.", "Pair it with {q} for the best result."),
    "es": ("¿Buscas {p}? Aquí lo tienes.", "Guarda esto para tu próximo proyecto de {p}.",
           "Me encanta este {p}, perfecto con {q}.",
           "Consejos sencillos de {p} para este fin de semana.",
           "Todo lo que necesitas saber sobre {p} y {q}.",
           "Haz clic para ver la guía completa de {p}.",
           "Este {p} es muy fácil y queda precioso.",
           "Nuestras ideas favoritas de {p} para {season}.",
           "Probamos {p} de tres maneras y esta ganó.", "Combínalo con {q} para un mejor resultado."),
    "fr": ("Vous cherchez {p} ? C'est ici.", "Enregistrez ceci pour votre prochain projet {p}.",
           "J'adore ce {p}, parfait avec {q}.", "Des astuces {p} simples à tester ce week-end.",
           "Tout ce qu'il faut savoir sur {p} et {q}.", "Cliquez pour le guide complet {p}.",
           "Ce {p} est très facile et tellement joli.", "Nos idées {p} préférées pour {season}.",
           "Nous avons testé {p} de trois façons et voici la meilleure.",
           "À associer avec {q} pour un meilleur résultat."),
    "de": ("Du suchst {p}? Hier ist es.", "Speichere das für dein nächstes {p} Projekt.",
           "Ich liebe dieses {p}, perfekt mit {q}.", "Einfache {p} Tipps für das Wochenende.",
           "Alles, was du über {p} und {q} wissen musst.",
           "Klicke hier für den kompletten {p} Ratgeber.",
           "Dieses {p} ist so einfach und sieht toll aus.",
           "Unsere liebsten {p} Ideen für den {season}.",
           "Wir haben {p} auf drei Arten getestet und das hier hat gewonnen.",
           "Kombiniere es mit {q} für das beste Ergebnis."),
    "pt": ("Procurando {p}? Está aqui.", "Salve isto para o seu próximo projeto de {p}.",
           "Eu amo este {p}, perfeito com {q}.", "Dicas simples de {p} para este fim de semana.",
           "Tudo o que você precisa saber sobre {p} e {q}.",
           "Clique para ver o guia completo de {p}.", "Este {p} é muito fácil e fica lindo.",
           "Nossas ideias favoritas de {p} para o {season}.",
           "Testamos {p} de três jeitos e este venceu.",
           "Combine com {q} para um resultado melhor."),
}

PAGE_INTROS: dict[str, tuple[str, ...]] = {
    "en": ("In this post we share everything we learned about {p}.",
           "If you have ever wondered how to get started with {p}, read on.",
           "{P} has been our obsession for months, so here is the full story."),
    "es": ("En este artículo compartimos todo lo que aprendimos sobre {p}.",
           "Si alguna vez te preguntaste cómo empezar con {p}, sigue leyendo.",
           "{P} ha sido nuestra obsesión durante meses, así que aquí está la historia completa."),
    "fr": ("Dans cet article nous partageons tout ce que nous avons appris sur {p}.",
           "Si vous vous êtes déjà demandé comment débuter avec {p}, lisez la suite.",
           "{P} est notre obsession depuis des mois, voici donc toute l'histoire."),
    "de": ("In diesem Beitrag teilen wir alles, was wir über {p} gelernt haben.",
           "Wenn du dich schon immer gefragt hast, wie man mit {p} anfängt, lies weiter.",
           "{P} ist seit Monaten unsere Leidenschaft, hier ist die ganze Geschichte."),
    "pt": ("Neste post compartilhamos tudo o que aprendemos sobre {p}.",
           "Se você já se perguntou como começar com {p}, continue lendo.",
           "{P} é a nossa obsessão há meses, então aqui está a história completa."),
}

SEASONS: dict[str, tuple[str, ...]] = {
    "en": ("summer", "winter", "fall", "spring", "the holidays", "the weekend"),
    "es": ("verano", "invierno", "otoño", "primavera", "las fiestas"),
    "fr": ("l'été", "l'hiver", "l'automne", "le printemps", "les fêtes"),
    "de": ("Sommer", "Winter", "Herbst", "Frühling", "Urlaub"),
    "pt": ("verão", "inverno", "outono", "primavera", "feriado"),
}

NOISE: dict[str, tuple[str, ...]] = {
    "en": ("omg", "love it", "so good", "must try", "yes please", "obsessed", "link in bio",
           "pin for later", "goals", "lol", "wow"),
    "es": ("me encanta", "qué bonito", "guardar", "increíble", "wow", "jaja"),
    "fr": ("trop beau", "j'adore", "à tester", "génial", "wow", "mdr"),
    "de": ("mega", "wow", "unbedingt ausprobieren", "toll", "krass"),
    "pt": ("amei", "que lindo", "salvar", "incrível", "wow", "kkk"),
}

EMOJIS: tuple[str, ...] = ("✨", "❤️", "😍", "🔥", "🌿", "🏡", "👗", "🎉", "📌", "💡",
                           "🙌", "🌸", "☕", "🍰", "🐶", "✈️")
