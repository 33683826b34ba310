"""Bundled demo site: an invented Indonesian-language news site about China.

`demo_records(now)` builds the import records (sections first, then articles)
with every time placed relative to `now`, the moment the demo is built, so the
site always looks current. All prose, names and credits are invented here;
output is deterministic for a given (now, seed).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from random import Random

DEMO_BASE_URL = "https://example.id"
# The demo's identity: `serve --demo` uses it where the config sets none (the
# site's identity has no default in code, feedserver.config.REQUIRED).
DEMO_SITE = {"site.title": "Kabar Tiongkok", "site.publication_name": "Kabar Tiongkok"}
PINYIN = {
    "chunjie": "春节",
    "zhongqiujie": "中秋节",
    "gaotie": "高铁",
    "hanzi": "汉字",
    "putonghua": "普通话",
    "liuxuesheng": "留学生",
    "huoguo": "火锅",
    "xiaolongbao": "小笼包",
}  # for URL slugs
WIB = timezone(timedelta(hours=7))  # Waktu Indonesia Barat; every time is written as +07:00

SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("berita", "Berita", "Kabar terbaru dari Tiongkok dan sekitarnya, disusun untuk pembaca Indonesia."),
    ("berita/tiongkok", "Tiongkok", "Kabar sehari-hari dari 北京 sampai 成都: transportasi, cuaca, kehidupan kota."),
    ("berita/asia", "Asia", "Tiongkok dan tetangganya di Asia Tenggara dan Asia Tengah: proyek, pelajar, perbatasan."),
    ("ekonomi", "Ekonomi", "Perdagangan, teknologi, dan pariwisata antara Indonesia dan Tiongkok."),
    ("budaya", "Budaya", "Festival, bahasa, dan tradisi: dari 春节 sampai belajar 汉字."),
    ("budaya/kuliner", "Kuliner", "Cerita di balik hidangan, dari 火锅 yang bikin kebas sampai pangsit kukus."),
    ("opini", "Opini", "Tulisan pendapat dan catatan perjalanan dari para kontributor."),
)

CITIES: tuple[tuple[str, str], ...] = (
    ("Beijing", "北京"),
    ("Shanghai", "上海"),
    ("Chengdu", "成都"),
    ("Guangzhou", "广州"),
    ("Shenzhen", "深圳"),
    ("Xi'an", "西安"),
    ("Kunming", "昆明"),
    ("Hangzhou", "杭州"),
    ("Wuhan", "武汉"),
    ("Harbin", "哈尔滨"),
    ("Chongqing", "重庆"),
    ("Xiamen", "厦门"),
)
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
SPEAKERS = (
    "Zhang Wei",
    "Li Na",
    "Chen Jun",
    "Wang Fang",
    "Liu Yang",
    "Zhao Min",
    "Sri Handayani",
    "Teguh Prasetyo",
    "Huang Xiaoyu",
    "Ratna Kusumawati",
    "Gao Peng",
    "Yusuf Hamdani",
)
AUTHORS: tuple[dict[str, str], ...] = (
    {
        "name": "Ayu Lestari Wibowo",
        "url": f"{DEMO_BASE_URL}/penulis/ayu-lestari-wibowo",
        "email": "ayu.lestari@example.id",
    },
    {"name": "Rizky Pratama Hasibuan", "url": f"{DEMO_BASE_URL}/penulis/rizky-pratama"},
    {"name": "Dewi Anggraini Siregar", "email": "dewi.anggraini@example.id"},
    {"name": "Hendra Kurniawan"},
    {"name": "Nurul Fitriani", "url": f"{DEMO_BASE_URL}/penulis/nurul-fitriani"},
    {"name": "Yohanes Bima Setiawan", "email": "bima@example.id"},
    {"name": "Lina Wijaya (林丽娜)", "url": f"{DEMO_BASE_URL}/penulis/lina-wijaya", "email": "lina.wijaya@example.id"},
    {"name": "Made Ariawan"},
)
SOURCES = (
    "Kantor Berita Nusantara (fiktif)",
    "Biro Beijing Redaksi (fiktif)",
    "Harian Selat Malaka (fiktif)",
    "Warta Asia Timur (fiktif)",
)
CREDITS = (
    "Foto: Redaksi/Ayu Lestari",
    "Dok. Redaksi (ilustrasi)",
    "Foto: Arsip Pembaca (fiktif)",
    "Foto: Made Ariawan",
)
EXTRA_TAGS = ("tiongkok", "asia-tenggara", "asia-tengah", "hubungan-bilateral", "indonesia", "kota")

CONTEXT = (
    "Kabar ini juga diikuti pembaca di Jakarta yang punya keluarga, usaha, atau rencana liburan di {city}.",
    "Pemerintah kota {city} belum memberikan keterangan tambahan hingga berita ini diturunkan.",
    "Sejumlah warga yang ditemui pada {day} mengaku baru mendengar kabar itu dari media sosial.",
    "Angka tersebut masih bersifat sementara dan dapat berubah setelah rekapitulasi akhir bulan.",
    "Kabar ini relevan bagi Indonesia karena hubungan dagang dan wisata kedua negara terus tumbuh.",
    "Para pengamat mengingatkan agar publik tidak terburu-buru menarik kesimpulan dari data sepekan.",
    "Koresponden kami di {city} ({zh}) mencatat suasana yang relatif tenang sepanjang hari.",
    "Di media sosial setempat, topik ini sempat masuk daftar perbincangan teratas pada {day} malam.",
)
CLOSINGS = (
    'Baca juga laporan kami sebelumnya, <a href="{link}">{link_title}</a>.',
    'Liputan terkait dapat dibaca di <a href="{link}">artikel ini</a>, yang terbit beberapa hari lalu.',
    'Untuk latar belakangnya, lihat <a href="{link}">{link_title}</a> di rubrik yang sama.',
)
PLAIN_CLOSINGS = (
    "Redaksi akan terus memperbarui laporan ini bila ada perkembangan baru.",
    "Pembaca yang memiliki pengalaman serupa dapat mengirimkan cerita ke redaksi.",
)


@dataclass(frozen=True)
class Topic:
    key: str
    section: str
    tags: tuple[str, ...]
    role: str
    caption: str
    titles: tuple[str, ...]
    leads: tuple[str, ...]
    details: tuple[str, ...]
    quotes: tuple[str, ...]
    subheads: tuple[str, ...]


# One block per topic: "= key | section | tags | speaker role", then one line per entry:
# C caption, T title, L lead, D detail, Q quote, H subheads (|-separated). Indented lines continue the entry.
# Placeholders: {city} {zh} {day} {pct} {num} {hours} {deg} {small}.
TOPIC_BANK = """
= dagang | ekonomi | perdagangan ekspor ekonomi | pelaku usaha
C Kontainer menunggu bongkar muat di pelabuhan {city}.
T Ekspor Kopi Indonesia ke {city} Naik {pct} Persen dalam Sebulan
T Pelabuhan {zh} Percepat Bongkar Muat Kontainer dari Surabaya
T Perajin Mebel Jepara Incar Pameran Dagang di {city}
T Permintaan Buah Tropis di {city} Melonjak Jelang Akhir Tahun
T Harga Lada dan Pala di Pasar {city} Naik Jelang Musim Dingin
L Nilai pengiriman kopi, kakao, dan rempah dari Indonesia ke {city} ({zh}) naik sekitar {pct} persen dibanding
  bulan lalu, menurut rekap asosiasi eksportir yang dirilis pada {day}.
L Sejumlah pengusaha kecil dari Jawa dan Sumatra menyiapkan contoh produk untuk pameran dagang di {city}, yang
  tahun ini menyediakan {num} stan.
L Otoritas pelabuhan di {city} menyebut waktu tunggu kapal dari Indonesia kini rata-rata kurang dari dua hari,
  lebih cepat dibanding tahun lalu.
D Sebagian besar pembeli merupakan jaringan kafe dan toko daring yang melayani konsumen muda.
D Eksportir mengaku tantangan terbesar bukan lagi permintaan, melainkan sertifikasi mutu dan label berbahasa
  Mandarin yang harus dicetak ulang.
D Pembayaran kini banyak dilakukan dalam mata uang lokal, sehingga pedagang tidak lagi terlalu bergantung pada
  dolar.
D Data bea cukai mencatat sekitar {num} kontainer berangkat ke pesisir timur Tiongkok bulan ini.
Q Pembeli di sana sangat teliti soal kemasan. Kalau labelnya rapi, pesanan ulang biasanya datang dalam
  hitungan minggu.
Q Kami tidak ingin hanya mengirim bahan mentah. Targetnya, produk olahan masuk rak supermarket.
H Tantangan Sertifikasi | Peluang bagi Usaha Kecil
= kereta | berita/tiongkok | kereta-cepat infrastruktur transportasi | pengamat transportasi
C Kereta cepat berhenti di stasiun {city}.
T Jalur 高铁 Baru Pangkas Waktu Tempuh ke {city} Jadi {hours} Jam
T Penumpang Kereta Cepat di {city} Tembus {num} Orang dalam Sehari
T Stasiun {zh} Uji Coba Gerbang Tiket Pengenal Wajah
T Musim Mudik, Tiket Kereta ke {city} Ludes dalam Hitungan Menit
T Penumpang Lansia di {city} Dapat Loket Khusus Tiket Kereta
L Jaringan kereta cepat atau <em>高铁 (gāotiě)</em> kembali bertambah setelah jalur baru menuju {city} resmi
  melayani penumpang pada {day}.
L Operator kereta di {city} ({zh}) mencatat sekitar {num} penumpang pada hari tersibuk pekan ini, angka
  tertinggi sejak awal tahun.
L Stasiun utama di {city} menguji gerbang tiket baru yang diklaim memproses satu penumpang dalam kurang dari
  dua detik.
D Kereta melaju hingga 350 kilometer per jam dan berhenti di beberapa kota kecil yang sebelumnya hanya
  terhubung lewat jalan raya.
D Harga tiket kelas dua untuk rute terpanjang berkisar ratusan yuan, relatif terjangkau bagi pekerja yang
  pulang kampung.
D Pengelola menambah rangkaian cadangan dan membuka loket khusus bagi lansia yang belum terbiasa membeli tiket
  lewat aplikasi.
D Sebagian penumpang mengeluhkan antrean di pemeriksaan keamanan, terutama pada pagi hari.
Q Yang menarik bukan kecepatannya saja, tetapi ketepatan waktunya. Kereta berangkat sesuai jadwal hingga
  hitungan menit.
Q Kota-kota kecil di sepanjang jalur ini ikut hidup karena orang bisa pulang-pergi kerja dalam sehari.
H Ketepatan Waktu | Dampak bagi Kota Kecil
= festival | budaya | festival budaya imlek | panitia festival
C Lampion merah di jalan utama {city}.
T Lampion Merah Hiasi {city} Jelang 春节
T Kue Bulan Rasa Durian Laris Manis Saat 中秋节 di {city}
T Festival Perahu Naga di {city} Diikuti {num} Peserta
T Pasar Malam Imlek di {zh} Ramai Dikunjungi Wisatawan Asing
T Barongsai Meriahkan Alun-Alun {city} Akhir Pekan Ini
L Ribuan lampion merah mulai dipasang di jalan-jalan utama {city} menjelang <em>春节</em>, Tahun Baru Imlek yang
  menjadi musim mudik terbesar di Tiongkok.
L Perayaan <em>中秋节</em> atau Festival Pertengahan Musim Gugur di {city} tahun ini diwarnai kue bulan dengan
  isian yang tidak biasa.
L Sungai di pinggiran {city} ({zh}) dipenuhi perahu panjang berhias kepala naga saat lomba tahunan digelar
  pada {day}.
D Pedagang menjual kertas potong bergambar shio, bait puisi berpasangan, dan amplop merah.
D Kue bulan rasa durian dan kopi disebut sebagai pengaruh selera wisatawan dari Asia Tenggara.
D Panitia membatasi jumlah pengunjung di tepi sungai dan menyediakan jalur khusus bagi keluarga dengan anak
  kecil.
D Di beberapa kampung kota, warga masih membersihkan rumah sebelum malam pergantian tahun.
Q Setiap tahun kami mencoba sesuatu yang baru, tapi intinya tetap sama: keluarga berkumpul dan makan bersama.
Q Banyak wisatawan dari Indonesia bertanya apakah perayaannya mirip Imlek di Singkawang. Ada yang mirip, ada
  juga yang sangat berbeda.
H Tradisi yang Bertahan | Sentuhan Baru
= teknologi | ekonomi | teknologi startup digital | analis teknologi
C Uji coba perangkat baru di sebuah kantor di {city}.
T Perusahaan Rintisan di {city} Kembangkan Robot Pengantar Paket
T Mobil Listrik Buatan {city} Mulai Dipasarkan di Jakarta
T Pembayaran Tanpa Uang Tunai Kian Merata hingga Pasar Tradisional {zh}
T Pusat Data Baru di {city} Gunakan Pendingin Air Danau
T Toko Swalayan Tanpa Kasir Dibuka di Pusat Kota {city}
L Sebuah perusahaan rintisan di {city} ({zh}) menguji robot pengantar paket yang mampu naik lift sendiri di
  kompleks apartemen.
L Produsen kendaraan listrik dari {city} berencana memasarkan {num} unit mobil kompak ke Indonesia dalam tahun
  pertama.
L Pedagang sayur di pasar tradisional {city} kini lebih sering menerima pembayaran lewat kode QR dibanding
  uang kertas.
D Perangkat itu dilengkapi kamera dan sensor jarak, dan untuk sementara hanya beroperasi pada jam kerja.
D Harga baterai yang terus turun membuat mobil listrik kompak kian bersaing dengan mobil bensin.
D Kode QR biasanya dicetak di selembar karton dan digantung di depan lapak, di samping timbangan.
D Pengamat menilai persaingan harga di dalam negeri mendorong produsen mencari pembeli di luar.
Q Teknologinya sudah siap. Tantangannya justru aturan, misalnya siapa yang bertanggung jawab kalau robot
  menabrak pejalan kaki.
Q Konsumen Indonesia sangat peka harga dan layanan purnajual. Itu yang akan menentukan.
H Soal Regulasi | Pasar Luar Negeri
= bahasa | budaya | bahasa-mandarin pendidikan hanzi | pengajar bahasa Mandarin
C Kartu hafalan 汉字 di meja seorang pelajar.
T Kursus 普通话 di Jakarta Kebanjiran Peminat Usia Pekerja
T Cara Mahasiswa Indonesia di {city} Menghafal Ribuan 汉字
T Ujian Kemahiran Mandarin Kini Dibuka untuk Pelajar SMA
T Belajar Nada Mandarin Lewat Lagu Pop, Efektifkah?
T Guru Mandarin Asal {city} Mengajar di Sekolah Menengah Surabaya
L Lembaga kursus di Jakarta mencatat lonjakan peserta kelas <em>普通话 (pǔtōnghuà)</em>, kebanyakan karyawan yang
  pekerjaannya berhubungan dengan mitra dari Tiongkok.
L Bagi mahasiswa Indonesia di {city}, menghafal <em>汉字 (hànzì)</em> adalah pekerjaan harian yang dilakukan di
  bus, di kantin, bahkan sebelum tidur.
L Empat nada dalam bahasa Mandarin kerap menjadi batu sandungan pertama bagi pelajar Indonesia, yang bahasanya
  tidak mengenal perbedaan nada.
D Kata 妈 (mā, ibu) dan 马 (mǎ, kuda) hanya dibedakan oleh nada, contoh klasik di pertemuan pertama.
D Sebagian pengajar menyarankan menulis setiap karakter sepuluh kali sambil mengucapkannya.
D Aplikasi kartu hafalan membantu, tetapi menurut para guru tidak bisa menggantikan percakapan.
D Kelas malam dan akhir pekan paling cepat penuh karena pesertanya bekerja pada siang hari.
Q Jangan takut salah nada. Orang di {city} biasanya tetap paham dari konteks, lalu membetulkan dengan ramah.
Q Setelah seribu karakter pertama, belajar terasa lebih ringan karena banyak karakter dibangun dari komponen
  yang sama.
H Empat Nada | Tips dari Pengajar
= cuaca | berita/tiongkok | cuaca lingkungan | petugas badan meteorologi setempat
C Jalanan {city} saat cuaca buruk.
T Salju Pertama Turun di {city}, Suhu Anjlok hingga Minus {deg} Derajat
T Hujan Lebat Guyur {city}, Sejumlah Penerbangan Ditunda
T Kabut Tebal Selimuti {zh}, Warga Diminta Kurangi Aktivitas Luar Ruang
T Gelombang Panas Landa {city}, Pusat Perbelanjaan Jadi Tempat Berteduh
T Suhu Malam di {city} Turun Drastis, Penjualan Jaket Melonjak
L Salju pertama musim ini turun di {city} ({zh}) pada {day} pagi, lebih awal beberapa hari dibanding rata-rata
  tahun sebelumnya.
L Hujan deras yang mengguyur {city} sejak malam membuat sejumlah ruas jalan tergenang dan beberapa penerbangan
  ditunda.
L Badan meteorologi setempat mengeluarkan peringatan kuning untuk kabut tebal yang menyelimuti {city} dan
  sekitarnya.
D Jarak pandang di beberapa jalan tol sempat turun hingga kurang dari dua ratus meter.
D Sekolah dasar di beberapa distrik memindahkan kegiatan olahraga ke dalam ruangan.
D Mahasiswa asal Indonesia yang baru pertama kali melihat salju ramai mengunggah foto.
D Petugas kebersihan bekerja sejak dini hari untuk membersihkan jalur pejalan kaki.
Q Warga sebaiknya memeriksa jadwal penerbangan dan kereta sebelum berangkat, karena kondisi bisa berubah
  cepat.
Q Kami perkirakan cuaca kembali normal dalam dua sampai tiga hari, tetapi suhu malam tetap rendah.
H Imbauan untuk Warga | Prakiraan Beberapa Hari ke Depan
= kuliner | budaya/kuliner | kuliner budaya | pemilik restoran
C Hidangan khas {city} di sebuah kedai.
T Warung 火锅 Ala {city} Bermunculan di Jakarta Selatan
T Rahasia Kulit Tipis 小笼包 dari Dapur Kecil di {city}
T Mi Tarik Tangan: Tontonan Gratis di Pinggir Jalan {zh}
T Teh Susu Asal {city} Hadapi Persaingan Ketat di Bandung
T Bebek Panggang dan Pangsit: Menu Sarapan Warga {city}
L Restoran <em>火锅 (huǒguō)</em> bergaya {city} kini mudah ditemui di Jakarta Selatan, lengkap dengan kuah
  pedas yang membuat bibir kebas.
L Di sebuah dapur sempit di {city} ({zh}), tiga juru masak melipat ratusan pangsit kukus <em>小笼包</em> setiap
  pagi dengan tepat delapan belas lipatan.
L Seorang juru masak di pinggir jalan {city} menarik adonan menjadi ratusan helai mi tipis dalam waktu kurang
  dari satu menit.
D Rasa kebas itu berasal dari lada Sichuan, bumbu yang berbeda dari cabai biasa.
D Kuah di dalam pangsit berasal dari kaldu yang dibekukan lalu meleleh saat dikukus.
D Untuk lidah lokal, beberapa restoran menawarkan kuah halal dan tingkat pedas yang lebih ringan.
D Harga satu porsi di kedai pinggir jalan masih di bawah dua puluh yuan.
Q Resepnya sebenarnya sederhana. Yang sulit adalah kesabaran, karena adonan harus diistirahatkan cukup lama.
Q Pelanggan Indonesia suka pedas, tapi pedas yang ini berbeda. Banyak yang kaget lalu ketagihan.
H Bumbu yang Membuat Kebas | Menyesuaikan Selera Lokal
= infrastruktur | berita/asia | infrastruktur jalur-sutra asia-tenggara | peneliti kebijakan
C Gudang logistik di jalur kereta barang dari {city}.
T Jalur Kereta Barang {city}–Vientiane Tambah Jadwal Mingguan
T Proyek Pelabuhan Bersama di Asia Tengah Masuki Tahap Kedua
T Jalan Tol Lintas Perbatasan Dibuka, Truk dari {city} Hemat Sehari
T Pembangkit Surya Skala Besar Didanai Konsorsium Asal {city}
T Gudang Logistik di Perbatasan Percepat Pengiriman Buah ke {city}
L Layanan kereta barang yang menghubungkan {city} ({zh}) dengan Asia Tenggara menambah jadwal keberangkatan
  menjadi {small} kali sepekan.
L Proyek lintas negara yang kerap dikaitkan dengan gagasan Jalur Sutra baru, <em>一带一路</em>, kembali disorot
  setelah tahap berikutnya dimulai pada {day}.
L Konsorsium perusahaan dari {city} menandatangani kesepakatan pembangunan jalan dan gudang logistik di dekat
  perbatasan.
D Kereta mengangkut buah dan suku cadang elektronik, lalu kembali membawa karet dan hasil tani.
D Pemerintah setempat berharap proyek ini membuka lapangan kerja di sepanjang koridor.
D Sejumlah ekonom mengingatkan pentingnya keterbukaan soal skema pembiayaan dan perawatan.
D Waktu pengiriman yang semula lebih dari seminggu kini bisa dipangkas menjadi sekitar tiga hari.
Q Infrastruktur hanya separuh cerita. Separuh lainnya adalah prosedur bea cukai yang cepat di kedua sisi
  perbatasan.
Q Negara penerima perlu memastikan proyek ini sesuai kebutuhan lokal, bukan sekadar mengejar angka.
H Skema Pembiayaan | Manfaat bagi Warga Sekitar
= mahasiswa | berita/asia | mahasiswa pendidikan beasiswa | ketua perhimpunan pelajar
C Mahasiswa Indonesia di sebuah kampus di {city}.
T Jumlah 留学生 Indonesia di {city} Terus Bertambah
T Mahasiswa Indonesia di {city} Gelar Malam Budaya Nusantara
T Beasiswa Teknik Perkeretaapian ke {city} Dibuka Bulan Depan
T Kisah Mahasiswa Papua Belajar Pertanian di {zh}
T Mahasiswa Indonesia di {city} Belajar Merawat Kereta Cepat
L Perhimpunan pelajar memperkirakan sekitar {num} mahasiswa asal Indonesia, atau <em>留学生</em>, kini belajar di
  {city} dan sekitarnya.
L Aula sebuah kampus di {city} ({zh}) dipenuhi penonton ketika mahasiswa Indonesia menampilkan tari Saman,
  angklung, dan gamelan.
L Program beasiswa bidang teknik dan pertanian di {city} kembali dibuka dengan syarat kemampuan bahasa
  Mandarin tingkat dasar.
D Sebagian besar mahasiswa mengambil program teknik, kedokteran, dan bisnis internasional.
D Pada tahun pertama, kelas bahasa biasanya diwajibkan sebelum mahasiswa masuk jurusan pilihan.
D Mahasiswa juga berbagi tips soal asrama, kartu transportasi, dan mencari makanan halal.
D Acara ditutup dengan makan malam bersama yang menyajikan rendang, sate, dan nasi kuning.
Q Bulan pertama paling berat, terutama musim dingin. Setelah itu kami saling bantu seperti keluarga.
Q Banyak teman dari negara lain penasaran dengan Indonesia. Malam budaya ini cara kami memperkenalkan diri.
H Adaptasi Tahun Pertama | Jembatan Antarbudaya
= wisata | ekonomi | pariwisata penerbangan | agen perjalanan
C Wisatawan berfoto di kota tua {city}.
T Penerbangan Langsung Bali–{city} Kembali Dibuka
T Wisatawan dari {city} Lirik Labuan Bajo dan Danau Toba
T Tembok Besar Dekat 北京 Terapkan Kuota Pengunjung Harian
T Kota Tua {city} Jadi Tujuan Favorit Pelancong Muda Indonesia
T Pasar Malam Kuliner di {city} Jadi Magnet Wisatawan Indonesia
L Maskapai kembali membuka rute langsung antara Denpasar dan {city} ({zh}) dengan {small} kali penerbangan per
  minggu.
L Agen perjalanan di {city} melaporkan minat yang meningkat terhadap destinasi di luar Bali, terutama Labuan
  Bajo dan Danau Toba.
L Pengelola kawasan wisata membatasi kunjungan hingga {num} orang per hari demi kenyamanan dan kelestarian
  situs.
D Wisatawan kini lebih memilih perjalanan kelompok kecil atau keluarga dibanding rombongan besar.
D Pemandu wisata berbahasa Mandarin masih terbatas jumlahnya di destinasi-destinasi baru.
D Tiket masuk harus dipesan secara daring paling lambat sehari sebelumnya.
D Pelancong muda Indonesia biasanya menggabungkan kunjungan ke kota tua dengan wisata kuliner.
Q Mereka mencari pengalaman yang autentik, bukan hanya foto di tempat terkenal.
Q Kami butuh lebih banyak pemandu yang bisa berbahasa Mandarin. Peluang kerjanya besar.
H Rute dan Jadwal | Kebutuhan Pemandu
= panda | berita/tiongkok | panda lingkungan satwa | perawat satwa
C Panda raksasa makan bambu di pusat konservasi.
T Pusat Konservasi di {city} Rayakan Ulang Tahun Panda Kembar
T Hutan Bambu di Sekitar 成都 Diperluas untuk Habitat Panda
T Antrean Pengunjung Kebun Binatang {city} Mengular Demi Melihat Panda
T Panda Remaja dari {city} Dipindahkan ke Pusat Konservasi Baru
L Pusat konservasi satwa di {city} ({zh}) merayakan ulang tahun sepasang panda kembar dengan kue dari es,
  buah, dan bambu.
L Pemerintah daerah menambah luas hutan bambu yang menjadi koridor bagi panda raksasa, <em>大熊猫
  (dàxióngmāo)</em>.
L Ribuan pengunjung antre sejak pagi di kebun binatang {city} untuk melihat panda yang baru dipindahkan dari
  pusat penangkaran.
D Seekor panda dewasa dapat menghabiskan belasan kilogram bambu dalam sehari.
D Petugas membatasi waktu pengunjung di depan kandang agar satwa tidak stres.
D Koridor hijau ini menghubungkan populasi yang sebelumnya terpisah oleh jalan dan permukiman.
Q Di mata pengunjung panda itu pemalas, padahal mereka sedang menghemat energi.
Q Kami ingin pengunjung pulang bukan hanya dengan foto lucu, tapi juga paham pentingnya habitat.
H Menjaga Habitat | Antusiasme Pengunjung
= opini | opini | opini hubungan-bilateral | kontributor
C Pejalan kaki di pusat kota {city}.
T Belajar dari {city}: Transportasi Publik Bukan Sekadar Proyek Megah
T Mengapa Anak Muda Perlu Belajar 普通话 (dan Bahasa Daerah Juga)
T Catatan dari {city}: Kota yang Ramah Pejalan Kaki
T Hubungan Dagang Perlu Lebih dari Sekadar Angka Ekspor
T Catatan Seorang Penerjemah: Antara 汉字 dan Aksara Jawa
L Setiap kali pulang dari {city}, saya ditanya hal yang sama: apa yang bisa kita tiru dari kota-kota di
  Tiongkok?
L Perdebatan soal hubungan ekonomi Indonesia dan Tiongkok sering terjebak pada angka, padahal banyak hal tidak
  tercatat di neraca perdagangan.
L Berjalan kaki di {city} ({zh}) mengajarkan satu hal: kota yang baik dirancang untuk manusia, bukan untuk
  mobil.
D Trotoar lebar, penyeberangan aman, dan bangku di bawah pohon adalah hal sederhana yang sering terlupakan.
D Kita juga perlu jujur bahwa tidak semua model cocok untuk kota-kota di Indonesia.
D Pelajar, penerjemah, dan jurnalis yang memahami kedua budaya adalah modal jangka panjang.
D Bahasa bukan hanya alat dagang; ia membuka pintu untuk memahami cara berpikir tetangga.
Q Kota yang baik adalah kota tempat anak-anak dan lansia bisa berjalan sendiri dengan aman.
Q Kerja sama yang sehat dibangun dari saling mengenal, bukan hanya dari kontrak.
H Apa yang Bisa Ditiru | Catatan Kritis
= ringkasan | berita | ringkasan tiongkok | redaktur
C Suasana pagi di {city}.
T Sepekan di Tiongkok: Dari {city} hingga Pesisir Timur
T Ringkasan Pagi: Lima Kabar dari {city} yang Perlu Anda Tahu
T Kilas Berita: Cuaca, Kereta, dan Harga Pangan di {zh}
T Akhir Pekan di {city}: Apa Saja yang Terjadi
L Pekan ini kabar dari Tiongkok didominasi cuaca ekstrem, jadwal kereta baru, dan persiapan festival di
  {city}.
L Berikut rangkuman singkat berita dari {city} ({zh}) dan kota-kota lain yang kami liput dalam beberapa hari
  terakhir.
D Harga sayur di pasar-pasar besar relatif stabil meskipun cuaca dingin datang lebih awal.
D Operator kereta menambah jadwal untuk mengantisipasi lonjakan penumpang akhir pekan.
D Sejumlah kampus membuka pendaftaran program musim panas bagi pelajar asing.
Q Kami merangkum kabar yang paling banyak ditanyakan pembaca, dari transportasi hingga kuliner.
Q Kalau hanya sempat membaca satu hal pagi ini, bacalah soal jadwal kereta akhir pekan.
H Yang Perlu Dicermati | Sepekan ke Depan
"""


def _parse_bank(text: str) -> tuple[Topic, ...]:
    blocks: list[tuple[list[str], dict[str, list[str]]]] = []
    entries: list[str] = []
    for line in text.strip().splitlines():
        if line.startswith("= "):
            blocks.append(([part.strip() for part in line[2:].split("|")], {k: [] for k in "CTLDQH"}))
        elif line.startswith("  "):
            entries[-1] += " " + line.strip()
        else:
            entries = blocks[-1][1][line[0]]
            entries.append(line[2:])
    return tuple(
        Topic(
            head[0],
            head[1],
            tuple(head[2].split()),
            head[3],
            e["C"][0],
            tuple(e["T"]),
            tuple(e["L"]),
            tuple(e["D"]),
            tuple(e["Q"]),
            tuple(h.strip() for h in e["H"][0].split("|")),
        )
        for head, e in blocks
    )


TOPICS = _parse_bank(TOPIC_BANK)
TOPIC_BY_KEY = {topic.key: topic for topic in TOPICS}

# Articles that stress feed writers, by number: (topic, title, summary or None, plain-text lead).
SPECIALS: dict[int, tuple[str, str, str | None, str]] = {
    6: (
        "dagang",
        "Tarif & Kuota Ekspor Sarang Walet ke 上海 Diperbarui",
        None,
        "Aturan baru mencakup tarif & kuota, dan berlaku untuk pengiriman di atas 500 kg.",
    ),
    19: (
        "festival",
        'Warga 成都 Sebut Festival Lampion "Paling Meriah" dalam Satu Dekade',
        None,
        'Seorang pengunjung menulis di papan ucapan: "Sampai jumpa tahun depan!"',
    ),
    37: (
        "dagang",
        "Inflasi < 1%: Harga Sayur di 北京 Nyaris Tak Bergerak",
        None,
        "Inflasi bulanan tercatat < 1%, sementara harga sayur & buah relatif datar (naik <0,5%).",
    ),
    52: (
        "teknologi",
        "Aplikasi Belajar 汉字 Perbaiki Galat Ekspor Catatan",
        "Pembaruan memperbaiki galat saat catatan memuat urutan ]]> sehingga berkas ekspor XML rusak.",
        "Pengguna diminta memperbarui aplikasi; catatan berisi ]]> atau <![CDATA[ kini aman diekspor.",
    ),
    77: (
        "kereta",
        "Kereta Malam 'Sleeper' ke Xi'an Kembali Beroperasi",
        None,
        "Kereta malam berkabin tidur menuju Xi'an kembali melayani penumpang setelah gerbongnya dirawat.",
    ),
    90: (
        "panda",
        "Bayi Panda Pertama Tahun Ini Lahir di 成都 🐼",
        None,
        "Nama bayi panda akan dipilih lewat pemungutan suara daring 🎋.",
    ),
}

# Two articles written mostly in Chinese, by number: (topic, slug, title, summary, paragraphs).
ZH_ARTICLES: dict[int, tuple[str, str, str, str, tuple[str, ...]]] = {
    15: (
        "panda",
        "relawan-panda-chengdu",
        "成都大熊猫基地迎来印尼大学生志愿者",
        "十二名来自印度尼西亚的大学生在成都参加为期两周的志愿活动。",
        (
            "十二名来自印度尼西亚的大学生本周来到成都，在大熊猫保护基地做为期两周的志愿者。",
            "他们每天早上七点开始工作，帮助饲养员准备竹子、打扫场地，下午学习动物保护知识。",
            "一位来自日惹的学生说：“以前只在视频里见过大熊猫，现在每天都能见到，真的很幸运。”",
            "基地工作人员表示，欢迎更多东南亚的年轻人参与。Terima kasih, 成都!",
        ),
    ),
    62: (
        "bahasa",
        "sehari-belajar-mandarin-beijing",
        "印尼学生在北京学习普通话的一天",
        "早上练声调，下午写汉字，晚上和室友用普通话聊天：一位印尼留学生的日常。",
        (
            "早上六点半，来自泗水的留学生已经在宿舍楼下大声练习四个声调。",
            "上午是综合课，老师要求每个人用新学的生词讲一个小故事。",
            "下午她去图书馆写汉字，一个字写十遍，一边写一边读。",
            "她笑着说：“刚来的时候连点菜都不会，现在可以和室友聊天了。”",
        ),
    ),
}

TOTAL = 96  # the last FUTURE_COUNT are published but dated ahead of `now`
FUTURE_COUNT = 2
RECENT_COUNT = 9  # published within the last 48 hours
DRAFTS = (20, 47, 88)
DELETED = (33, 71)
NO_IMAGE = (9, 58)


ARTICLE_PATH = re.compile(r"^/[a-z0-9/-]+-(?P<n>[1-9][0-9]{0,3})$")


def article_id_for_path(path: str) -> str | None:
    """The demo article id (`a-0042`) a demo URL path (`/budaya/...-42`) names, or None."""
    match = ARTICLE_PATH.match(path)
    return f"a-{int(match['n']):04d}" if match else None


def _slugify(text: str) -> str:
    for latin, chinese in (*CITIES, *PINYIN.items()):
        text = text.replace(chinese, f" {latin} ")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = ""
    for word in re.findall(r"[a-z0-9]+", ascii_text.lower()):
        if len(slug) + len(word) + 1 > 70:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug or "artikel"


def _plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _times(now: datetime, rng: Random) -> list[datetime]:
    """Publication times in WIB, oldest first: up to 10 days back, a few within 48 h, the last ones ahead."""
    hours = [rng.uniform(0.4, 47.5) for _ in range(RECENT_COUNT)]
    hours += [rng.uniform(48, 240) for _ in range(TOTAL - FUTURE_COUNT - RECENT_COUNT)]
    moments = sorted(now - timedelta(hours=h) for h in hours)
    moments += [now + timedelta(hours=3.5 + 16 * i) for i in range(FUTURE_COUNT)]
    return [m.astimezone(WIB).replace(second=0, microsecond=0) for m in moments]


def _body(
    rng: Random,
    topic: Topic,
    fill: dict[str, str],
    extra: str | None,
    link: tuple[str, str] | None,
    inline_img: str | None,
) -> str:
    """3-7 paragraphs of HTML (lead, details, a quote, closing), maybe with a subhead, figure and link."""
    city, role, speaker = html.escape(fill["city"], quote=False), topic.role, rng.choice(SPEAKERS)
    template = rng.choice(topic.leads)
    lead = template.format(**fill)
    if "{city}" in template and topic.section != "opini" and rng.random() < 0.5:
        lead = f"<strong>{html.escape(fill['city'].upper(), quote=False)}, {fill['zh']}</strong> — {lead}"
    details, context = rng.sample(topic.details, 2), rng.sample(CONTEXT, 2)
    quote = rng.choice(topic.quotes).format(**fill)
    if rng.random() < 0.4:
        quote_block = (
            f"<blockquote><p>“{quote}”</p></blockquote>\n"
            f"<p>Hal itu disampaikan {speaker}, {role}, kepada redaksi pada {fill['day']}.</p>"
        )
    else:
        quote = quote[:-1] + "," if quote.endswith(".") else quote
        quote_block = f"<p>“{quote}” kata {speaker}, {role} di {city}.</p>"
    middle = [
        f"<p>{details[0].format(**fill)} {context[0].format(**fill)}</p>",
        quote_block,
        f"<p>{details[1].format(**fill)}</p>",
        f"<p>{context[1].format(**fill)}</p>",
    ][: rng.randint(1, 4)]
    if len(middle) >= 2 and rng.random() < 0.5:
        middle.insert(1, f"<h2>{rng.choice(topic.subheads)}</h2>")
    if extra is not None:  # a special article leads with its own plain-text paragraph
        middle.insert(0, f"<p>{lead}</p>")
        lead = html.escape(extra, quote=False)
    if inline_img is not None:
        caption = html.escape(fill["caption"])
        figure = f'<figure><img src="{inline_img}" alt="{caption}"><figcaption>{caption}</figcaption></figure>'
        middle.insert(1, figure)
    if link is not None and rng.random() < 0.7:
        closing = rng.choice(CLOSINGS).format(link=link[0], link_title=html.escape(link[1]))
    else:
        closing = rng.choice(PLAIN_CLOSINGS)
    return "\n".join([f"<p>{lead}</p>", *middle, f"<p>{closing}</p>"])


def demo_records(now: datetime, seed: int = 2026) -> list[dict[str, object]]:
    """Section records, then TOTAL article records; times are WIB and relative to `now` (timezone-aware)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    rng = Random(seed)
    records: list[dict[str, object]] = [
        {"type": "section", "slug": slug, "title": title, "description": description}
        for slug, title, description in SECTIONS
    ]
    order = [topic for _ in range(TOTAL // len(TOPICS) + 1) for topic in TOPICS]
    rng.shuffle(order)
    titles_seen: set[str] = set()
    linkable: list[tuple[str, str]] = []  # (path, title) of live articles, for relative links
    for n, published in enumerate(_times(now, rng), start=1):
        city, zh = rng.choice(CITIES)
        fill = {
            "city": city,
            "zh": zh,
            "day": DAYS[published.weekday()],
            "pct": str(rng.randint(4, 38)),
            "num": f"{rng.randint(120, 48000):,}".replace(",", "."),
            "hours": str(rng.randint(2, 6)),
            "deg": str(rng.randint(3, 24)),
            "small": str(rng.randint(2, 9)),
        }
        topic, special, zh_article = order[n - 1], SPECIALS.get(n), ZH_ARTICLES.get(n)
        summary: str | None = None
        extra: str | None = None
        if special is not None:
            topic = TOPIC_BY_KEY[special[0]]
            title, summary, extra = special[1], special[2] or special[3], special[3]
        elif zh_article is not None:
            topic = TOPIC_BY_KEY[zh_article[0]]
            title, summary = zh_article[2], zh_article[3]
        else:
            title = rng.choice(topic.titles).format(**fill)
            while title in titles_seen:
                fill["city"], fill["zh"] = rng.choice(CITIES)
                title = rng.choice(topic.titles).format(**fill)
        titles_seen.add(title)
        for city_name, city_zh in CITIES:  # a title naming a city sets the city of the whole story
            if city_name in title or city_zh in title:
                fill["city"], fill["zh"] = city_name, city_zh
        fill["caption"] = topic.caption.format(**fill)
        month = f"{published:%Y/%m}"
        if zh_article is not None:
            slug = zh_article[1]
            content = "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in zh_article[4])
        else:
            slug = _slugify(title)
            inline = f"/media/{month}/{topic.key}-{n:04d}-detail.jpg" if n % 19 == 7 else None
            content = _body(rng, topic, fill, extra, rng.choice(linkable) if linkable else None, inline)
        if summary is None:
            summary = _plain(content.split("\n")[0]).split(" — ")[-1]
            if rng.random() < 0.3:
                summary += " " + _plain(rng.choice(topic.details).format(**fill))
        tags = list(topic.tags) + rng.sample([t for t in EXTRA_TAGS if t not in topic.tags], 2)
        path = f"/{topic.section}/{slug}-{n}"  # article_id_for_path reads it back
        status = "draft" if n in DRAFTS else "deleted" if n in DELETED else "published"
        authors = rng.sample(AUTHORS, 2 if rng.random() < 0.25 else 1)
        article: dict[str, object] = {
            "type": "article",
            "id": f"a-{n:04d}",
            "url": DEMO_BASE_URL + path,
            "section": topic.section,
            "title": title,
            "summary": summary,
            "content_html": content,
            "authors": [dict(author) for author in authors],
            "published_at": published.isoformat(),
        }
        age = now - published
        if age > timedelta(minutes=10) and (status == "deleted" or rng.random() < 0.3):
            delay = max(min(timedelta(minutes=rng.randint(15, 900)), age * 0.8), timedelta(minutes=1))
            article["updated_at"] = (published + delay).replace(second=0, microsecond=0).isoformat()
        article["status"] = status
        if n not in NO_IMAGE:
            image: dict[str, object] = {
                "url": f"{DEMO_BASE_URL}/media/{month}/{topic.key}-{n:04d}.jpg",
                "caption": fill["caption"],
                "credit": rng.choice(CREDITS),
            }
            if n % 11 != 0:  # every eleventh image comes without size and type
                width, height = rng.choice(((1200, 675), (1600, 900), (800, 450)))
                image.update(width=width, height=height, type="image/jpeg")
            article["image"] = image
        article["tags"] = tags[: rng.randint(2, 5)]
        if rng.random() < 0.6:
            article["source"] = rng.choice(SOURCES)
        article["language"] = "zh-CN" if zh_article is not None else "id"
        if rng.random() < 0.5:
            article["reading_time_minutes"] = max(1, math.ceil(len(_plain(content).split()) / 200))
        records.append(article)
        if status == "published" and published <= now:
            linkable.append((path, title))
    return records
